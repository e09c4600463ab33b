import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import type { Write } from '../engine/effects'
import type { DurableStore } from '../host/ports'

/** The file inside DATA_DIR that holds the coordinator's durable state. */
export const DATABASE_FILE = 'coordinator.sqlite'

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

  /** Opens (creating if needed) the store in `dataDir`. */
  static async open(dataDir: string): Promise<SqliteStore> {
    const dir = resolve(dataDir)
    mkdirSync(dir, { recursive: true })
    const path = join(dir, DATABASE_FILE)
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.exec('CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID')
    return new SqliteStore(db, path)
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
