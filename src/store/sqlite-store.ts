import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statfsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import type { Write } from '../engine/effects'
import type { DurableStore } from '../host/ports'

/** The file inside DATA_DIR that holds the coordinator's durable state. */
export const DATABASE_FILE = 'coordinator.sqlite'
/** DATA_DIR holds user metadata and replies of other users' writes: only the relay's user may list or read it. */
export const DATA_DIR_MODE = 0o700
/** The database and the -wal / -shm files SQLite puts beside it (WAL mode). */
export const DATABASE_FILE_MODE = 0o600
const SQLITE_SIDE_FILES = ['-wal', '-shm', '-journal']

/** DATA_DIR cannot be used; `message` is one line naming the path and the cause, for a startup error. */
export class StoreOpenError extends Error {
  constructor(readonly dir: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`cannot open the store in DATA_DIR ${dir}: ${reason}`, options)
    this.name = 'StoreOpenError'
  }
}

/**
 * The relay's durable store: one SQLite table of key → JSON value (channel and user
 * metadata, lock definitions). Embedded, so the relay needs no external server.
 *
 * WAL with `synchronous=FULL` fsyncs the log on every commit, so when `commit` returns
 * the writes survive a crash or power loss; that is what lets the host acknowledge them.
 *
 * @example
 * const store = await SqliteStore.open(process.env.DATA_DIR ?? './data')
 * await startRelay({ store })
 */
export class SqliteStore implements DurableStore {
  private readonly upsert: Database.Statement<[string, string]>
  private readonly remove: Database.Statement<[string]>
  private readonly applyAll: (writes: Write[]) => void
  private closed = false

  private constructor(private readonly db: Database.Database, readonly path: string) {
    this.upsert = db.prepare('INSERT INTO entries (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
    this.remove = db.prepare('DELETE FROM entries WHERE key = ?')
    // One transaction per commit: the engine's writes of one input land together or not at all.
    this.applyAll = db.transaction((writes: Write[]) => {
      for (const { key, value } of writes) {
        if (value === null) this.remove.run(key)
        else this.upsert.run(key, JSON.stringify(value))
      }
    })
  }

  /**
   * Opens (creating if needed) the store in `dataDir`: the folder 0700, the files 0600.
   * Throws a `StoreOpenError` saying what is wrong with the folder (a file, not writable,
   * no space, not a database).
   */
  static async open(dataDir: string): Promise<SqliteStore> {
    const dir = resolve(dataDir)
    const path = join(dir, DATABASE_FILE)
    let db: Database.Database | undefined
    try {
      if (existsSync(dir) && !statSync(dir).isDirectory()) throw new StoreOpenError(dir, 'it is a file, not a folder')
      mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE })
      // A folder made by an older version (or by hand) is tightened too, when it is ours to change.
      if (statSync(dir).uid === process.getuid?.()) chmodSync(dir, DATA_DIR_MODE)
      // Created with its mode before SQLite opens it: SQLite gives the -wal and -shm files the database file's mode.
      closeSync(openSync(path, 'a', DATABASE_FILE_MODE))
      for (const file of [path, ...SQLITE_SIDE_FILES.map((suffix) => path + suffix)]) {
        if (existsSync(file)) chmodSync(file, DATABASE_FILE_MODE)
      }
      db = new Database(path)
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
      db.exec('CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID')
      return new SqliteStore(db, path)
    } catch (error) {
      db?.close()
      if (error instanceof StoreOpenError) throw error
      throw new StoreOpenError(dir, describeOpenFailure(error, path), { cause: error })
    }
  }

  async load(): Promise<Write[]> {
    this.assertOpen('load')
    const rows = this.db.prepare('SELECT key, value FROM entries ORDER BY key').all() as { key: string; value: string }[]
    return rows.map(({ key, value }) => ({ key, value: JSON.parse(value) as unknown }))
  }

  async commit(writes: Write[]): Promise<void> {
    this.assertOpen('commit')
    if (writes.length > 0) this.applyAll(writes)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.db.close()
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new Error(`SqliteStore.${operation}: the store is closed`)
  }
}

/** The cause of a failed open in a few words, from the errno (Node) or result code (SQLite). */
function describeOpenFailure(error: unknown, path: string): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : ''
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error)
  switch (code) {
    case 'ENOTDIR': return 'a part of the path is a file, not a folder'
    case 'EEXIST': return 'it is a file, not a folder'
    case 'EACCES':
    case 'EPERM': return `permission denied: the folder or ${DATABASE_FILE} is not writable by this user`
    case 'EROFS': return 'it is on a read-only file system'
    case 'ENOSPC':
    case 'SQLITE_FULL': return 'no space left on the device'
    case 'EISDIR': return `${path} is a folder, not a file`
    case 'SQLITE_NOTADB': return `${path} is not a SQLite database`
    case 'SQLITE_CORRUPT': return `${path} is corrupt`
    default:
      if (code.startsWith('SQLITE_READONLY')) return `${path} is read-only (${code})`
      // SQLite reports a full disk while growing its -shm or -wal as an I/O error.
      if (code.startsWith('SQLITE_IOERR')) return lowOnSpace(path) ? 'no space left on the device' : `I/O error on ${path} (${code})`
      if (code.startsWith('SQLITE_CANTOPEN')) return `SQLite cannot open ${path} (${code})`
      return code ? `${detail} (${code})` : detail
  }
}

/** Below this much free space an I/O error while opening is taken for a full disk. */
const LOW_SPACE_BYTES = 1 << 20

function lowOnSpace(path: string): boolean {
  try {
    const fs = statfsSync(dirname(path))
    return fs.bavail * fs.bsize < LOW_SPACE_BYTES
  } catch {
    return false // no answer about space: report the I/O error as it came
  }
}
