import { describe, expect, it } from 'vitest'
import { rtmError } from '../../protocol/errors'
import type { MetadataDetail, MetadataItem, RTM, StorageEvent } from '../../sdk'
import { isSettled, keepMine } from './conflict'
import { MetadataState } from './metadata.svelte'

const detail = (value: string, revision: number, authorUid = 'bob'): MetadataDetail => ({ value, revision, updated: 1, authorUid })

describe('metadata conflict', () => {
  it('keep mine writes my value against the revision stored now', () => {
    expect(keepMine({ key: 'agenda', mine: 'mine', basedOn: 3, theirs: detail('theirs', 4) })).toEqual({ kind: 'set', key: 'agenda', value: 'mine', revision: 4 })
  })

  it('keep mine after they removed the item writes it only if it is still absent', () => {
    expect(keepMine({ key: 'agenda', mine: 'mine', basedOn: 3, theirs: null })).toEqual({ kind: 'set', key: 'agenda', value: 'mine', revision: 0 })
  })

  it('keep mine of a removal removes what is stored now', () => {
    expect(keepMine({ key: 'agenda', mine: null, basedOn: 5, theirs: detail('theirs', 7) })).toEqual({ kind: 'remove', key: 'agenda', revision: 7 })
  })

  it('is settled, with nothing to write, when what is stored is already what I wanted', () => {
    expect(isSettled({ key: 'k', mine: 'same', basedOn: 1, theirs: detail('same', 2) })).toBe(true)
    expect(isSettled({ key: 'k', mine: null, basedOn: 1, theirs: null })).toBe(true)
    expect(keepMine({ key: 'k', mine: null, basedOn: 1, theirs: null })).toBeNull()
    expect(isSettled({ key: 'k', mine: 'a', basedOn: 1, theirs: detail('b', 2) })).toBe(false)
  })
})

/** A channel's metadata with per-item revisions, as the coordinator keeps it (only what the panel calls). */
function fakeRtm(userId = 'alice') {
  const items = new Map<string, MetadataDetail>()
  let listener: ((event: StorageEvent) => void) | null = null
  const check = (item: MetadataItem) => {
    const existing = items.get(item.key)
    const revision = item.revision ?? -1
    if ((revision === 0 && existing) || (revision > 0 && existing?.revision !== revision)) throw rtmError('STORAGE_OUTDATED_REVISION', 'setChannelMetadata')
  }
  const emit = (eventType: 'UPDATE' | 'REMOVE', key: string, value: MetadataDetail, publisher: string) => listener?.({
    channelType: 'MESSAGE', channelName: 'lobby', publisher, storageType: 'CHANNEL', eventType, timestamp: 0,
    data: { totalCount: items.size, majorRevision: 1, metadata: { [key]: value } },
  })
  const rtm = {
    userId,
    addEventListener: (_type: string, handler: (event: StorageEvent) => void) => { listener = handler },
    removeEventListener: () => { listener = null },
    subscribe: async () => ({ timestamp: 0, channelName: 'lobby' }),
    storage: {
      getChannelMetadata: async () => ({ metadata: Object.fromEntries(items), majorRevision: 1, totalCount: items.size, timestamp: 0, channelName: 'lobby', channelType: 'MESSAGE' }),
      setChannelMetadata: async (_channel: string, _type: string, [item]: MetadataItem[]) => {
        check(item!)
        const next = detail(item!.value!, (items.get(item!.key)?.revision ?? 0) + 1, userId)
        items.set(item!.key, next)
        emit('UPDATE', item!.key, next, userId)
        return { timestamp: 0 }
      },
      removeChannelMetadata: async (_channel: string, _type: string, { data }: { data: MetadataItem[] }) => {
        check(data[0]!)
        const gone = items.get(data[0]!.key)!
        items.delete(data[0]!.key)
        emit('REMOVE', data[0]!.key, gone, userId)
        return { timestamp: 0 }
      },
    },
  }
  /** Someone else writes, and the event reaches us. */
  const theyWrite = (key: string, value: string) => {
    const next = detail(value, (items.get(key)?.revision ?? 0) + 1)
    items.set(key, next)
    emit('UPDATE', key, next, 'bob')
  }
  return { rtm: rtm as unknown as RTM, items, theyWrite }
}

describe('MetadataState', () => {
  async function opened() {
    const fake = fakeRtm()
    const state = new MetadataState(fake.rtm)
    await state.open({ kind: 'CHANNEL', channelName: 'lobby' })
    return { ...fake, state }
  }

  it('a stale save shows my value beside the one stored now, fetched from the store', async () => {
    const { state, theyWrite } = await opened()
    await state.set('agenda', 'launch plan')
    const seen = state.rows[0]!.revision
    theyWrite('agenda', 'landing plan')
    await state.set('agenda', 'my plan', seen)
    expect(state.conflict).toEqual({ key: 'agenda', mine: 'my plan', basedOn: seen, theirs: expect.objectContaining({ value: 'landing plan', authorUid: 'bob' }) })
    expect(state.error?.detail).toContain('-12014')
  })

  it('keep mine stores my value over theirs and ends the conflict', async () => {
    const { state, items, theyWrite } = await opened()
    await state.set('agenda', 'v1')
    const seen = state.rows[0]!.revision
    theyWrite('agenda', 'theirs')
    await state.set('agenda', 'mine', seen)
    await state.keepMine()
    expect(items.get('agenda')?.value).toBe('mine')
    expect(state.conflict).toBeNull()
    expect(state.error).toBeNull()
  })

  it('take theirs leaves what is stored and drops my edit', async () => {
    const { state, items, theyWrite } = await opened()
    await state.set('agenda', 'v1')
    const seen = state.rows[0]!.revision
    theyWrite('agenda', 'theirs')
    await state.set('agenda', 'mine', seen)
    state.takeTheirs()
    expect(items.get('agenda')?.value).toBe('theirs')
    expect(state.conflict).toBeNull()
    expect(state.error).toBeNull()
  })

  it('theirs follows further changes while I choose, and keep mine is checked against the latest', async () => {
    const { state, items, theyWrite } = await opened()
    await state.set('agenda', 'v1')
    const seen = state.rows[0]!.revision
    theyWrite('agenda', 'theirs')
    await state.set('agenda', 'mine', seen)
    theyWrite('agenda', 'theirs again')
    expect(state.conflict?.theirs?.value).toBe('theirs again')
    await state.keepMine()
    expect(items.get('agenda')?.value).toBe('mine')
  })

  it('adding a key that exists already, with the check on, is a conflict rather than an overwrite', async () => {
    const { state, items, theyWrite } = await opened()
    theyWrite('agenda', 'theirs')
    await state.set('agenda', 'mine', 0)
    expect(state.conflict).toMatchObject({ key: 'agenda', mine: 'mine', basedOn: 0, theirs: { value: 'theirs' } })
    expect(items.get('agenda')?.value).toBe('theirs')
  })

  it('a stale remove shows mine as removed; keep mine removes what is stored now', async () => {
    const { state, items, theyWrite } = await opened()
    await state.set('agenda', 'v1')
    const seen = state.rows[0]!.revision
    theyWrite('agenda', 'theirs')
    await state.remove('agenda', seen)
    expect(state.conflict).toMatchObject({ key: 'agenda', mine: null, theirs: { value: 'theirs' } })
    await state.keepMine()
    expect(items.has('agenda')).toBe(false)
    expect(state.conflict).toBeNull()
  })

  it('a stale save of the value already stored is no conflict', async () => {
    const { state, theyWrite } = await opened()
    await state.set('agenda', 'v1')
    const seen = state.rows[0]!.revision
    theyWrite('agenda', 'same')
    await state.set('agenda', 'same', seen)
    expect(state.conflict).toBeNull()
    expect(state.error).toBeNull()
  })
})
