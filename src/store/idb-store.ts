import { openDB, type IDBPDatabase } from 'idb'
import type { Write } from '../engine/effects'
import type { DurableStore } from '../host/ports'

const ENTRIES = 'entries'
const VERSION = 1

/**
 * The coordinator tab's durable store: one IndexedDB object store of key → value
 * (metadata, lock definitions, replies of applied writes), one database per app.
 *
 * Chromium's default IndexedDB durability is relaxed (FACTS.md); every commit asks for
 * `strict` and resolves only after the transaction is done, so an acknowledged write
 * survives the tab or the browser dying right after the ack.
 *
 * @example
 * const store = await IdbStore.open('rtm:demo')
 * await store.commit([{ key: 'meta:1:room', value: { ... } }])
 */
export class IdbStore implements DurableStore {
  private db: IDBPDatabase | null
  private closed = false
  /**
   * The browser closed our connection: the database was deleted or upgraded elsewhere, or
   * the site's data cleared. What it holds may no longer be what we wrote, so this store
   * refuses to go on; its owner fails over and a new store is opened on what is there.
   */
  private lost = false

  private constructor(private readonly name: string, db: IDBPDatabase) {
    this.db = db
  }

  static async open(name: string): Promise<IdbStore> {
    let store: IdbStore | null = null
    const db = await IdbStore.connect(name, () => store)
    store = new IdbStore(name, db)
    return store
  }

  async load(): Promise<Write[]> {
    const db = await this.database('load')
    const tx = db.transaction(ENTRIES, 'readonly')
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done])
    return keys.map((key, index) => ({ key: String(key), value: values[index] as unknown }))
  }

  async commit(writes: Write[]): Promise<void> {
    if (writes.length === 0) return
    const db = await this.database('commit')
    // One transaction: the writes of one engine input land together or not at all.
    const tx = db.transaction(ENTRIES, 'readwrite', { durability: 'strict' })
    for (const { key, value } of writes) {
      if (value === null) void tx.store.delete(key)
      else void tx.store.put(value, key)
    }
    await tx.done
  }

  /** Makes the store hold exactly `entries` (a mesh follower taking the coordinator's snapshot). */
  async replaceAll(entries: Write[]): Promise<void> {
    const db = await this.database('replaceAll')
    const tx = db.transaction(ENTRIES, 'readwrite', { durability: 'strict' })
    void tx.store.clear()
    for (const { key, value } of entries) if (value !== null) void tx.store.put(value, key)
    await tx.done
  }

  async close(): Promise<void> {
    this.closed = true
    this.db?.close()
    this.db = null
  }

  private async database(operation: string): Promise<IDBPDatabase> {
    if (this.closed) throw new Error(`IdbStore.${operation}: the store is closed`)
    if (this.lost || !this.db) throw new Error(`IdbStore.${operation}: the browser closed database "${this.name}" (deleted, upgraded elsewhere or site data cleared)`)
    return this.db
  }

  private static connect(name: string, owner: () => IdbStore | null): Promise<IDBPDatabase> {
    const forget = () => {
      const store = owner()
      if (!store) return
      store.db = null
      store.lost = true
    }
    return openDB(name, VERSION, {
      upgrade(db) {
        if (!db.objectStoreNames.contains(ENTRIES)) db.createObjectStore(ENTRIES)
      },
      // Without these another tab's upgrade (or deleteDB) would wait on us forever (FACTS.md).
      blocking() {
        owner()?.db?.close()
        forget()
      },
      terminated: forget,
    })
  }
}
