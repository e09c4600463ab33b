import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DATABASE_FILE, SqliteStore } from './sqlite-store'

describe('SqliteStore', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'sqlite-store-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('starts empty in a new directory, creating it', async () => {
    const store = await SqliteStore.open(join(dir, 'nested', 'data'))
    expect(await store.load()).toEqual([])
    await store.close()
  })

  it('keeps committed writes across a reopen, with deletes applied', async () => {
    const first = await SqliteStore.open(dir)
    await first.commit([
      { key: 'meta/c/lobby', value: { majorRevision: 3, items: { color: { value: 'red', revision: 3 } } } },
      { key: 'lock/lobby/door', value: { ttl: 10, owner: 'alice' } },
      { key: 'meta/u/bob', value: { note: 'hi' } },
    ])
    await first.commit([{ key: 'meta/u/bob', value: null }, { key: 'lock/lobby/door', value: { ttl: 20, owner: null } }])
    await first.close()

    const second = await SqliteStore.open(dir)
    expect(await second.load()).toEqual([
      { key: 'lock/lobby/door', value: { ttl: 20, owner: null } },
      { key: 'meta/c/lobby', value: { majorRevision: 3, items: { color: { value: 'red', revision: 3 } } } },
    ])
    await second.close()
  })

  it('runs in WAL mode with full sync, so a returned commit is on disk', async () => {
    const store = await SqliteStore.open(dir)
    await store.commit([{ key: 'k', value: 1 }])
    // A second, independent connection sees the commit without the first closing.
    const reader = new Database(join(dir, DATABASE_FILE), { readonly: true })
    expect(reader.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(reader.prepare('SELECT value FROM entries WHERE key = ?').get('k')).toEqual({ value: '1' })
    reader.close()
    await store.close()
  })

  it('applies one commit atomically: a failing write leaves none of its batch behind', async () => {
    const store = await SqliteStore.open(dir)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(store.commit([{ key: 'a', value: 1 }, { key: 'b', value: cyclic }])).rejects.toThrow()
    expect(await store.load()).toEqual([])
    await store.close()
  })

  it('refuses to commit after close instead of losing the write silently', async () => {
    const store = await SqliteStore.open(dir)
    await store.close()
    await expect(store.commit([{ key: 'a', value: 1 }])).rejects.toThrow(/closed/)
  })
})
