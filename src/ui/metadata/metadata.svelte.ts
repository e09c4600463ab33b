import { explainError, type UserError } from '../shared/errors'
import { isRtmError, type MetadataDetail, type MetadataItem, type RTM, type StorageEvent } from '../../sdk'
import { subscribeForPanels } from '../shared/channel'
import { Actions } from '../shared/actions.svelte'
import { isSettled, keepMine, type Conflict, type MetadataWrite } from './conflict'

/** Whose metadata the panel edits: a message channel's or a user's. */
export type MetadataTarget = { kind: 'CHANNEL'; channelName: string } | { kind: 'USER'; userId: string }

export interface MetadataRow extends MetadataDetail { key: string }

/**
 * The Metadata panel's state: one target's items (value, revision, author, updated time),
 * kept live by storage events. Writes record time and author; a write may carry the
 * revision it was based on. One refused for that (a CAS conflict) becomes `conflict`:
 * my value beside the one stored now, until the user keeps theirs or writes mine again.
 */
export class MetadataState {
  #target = $state<MetadataTarget | null>(null)
  // Item key → detail. A Map, so keys any user may write (`__proto__`, `constructor`) are ordinary keys; replaced, never mutated.
  #items = $state.raw<ReadonlyMap<string, MetadataDetail>>(new Map())
  #majorRevision = $state(-1)
  #conflict = $state.raw<Conflict | null>(null)
  readonly #actions = new Actions()
  readonly #off: () => void

  constructor(private readonly rtm: RTM) {
    const onStorage = (event: StorageEvent) => this.#receive(event)
    rtm.addEventListener('storage', onStorage)
    this.#off = () => rtm.removeEventListener('storage', onStorage)
  }

  get target(): MetadataTarget | null { return this.#target }
  get majorRevision(): number { return this.#majorRevision }
  get error(): UserError | null { return this.#actions.error }
  get busy(): boolean { return this.#actions.busy }
  get conflict(): Conflict | null { return this.#conflict }
  get rows(): MetadataRow[] {
    return [...this.#items].map(([key, detail]) => ({ key, ...detail })).sort((a, b) => a.key.localeCompare(b.key))
  }

  /** Starts following a target: subscribes for live events and loads the current items. */
  open(target: MetadataTarget): Promise<void> {
    return this.#actions.run(async () => {
      await this.#unfollow()
      this.#target = target
      this.#conflict = null
      this.#items = new Map()
      this.#majorRevision = -1
      if (target.kind === 'CHANNEL') await subscribeForPanels(this.rtm, target.channelName)
      else await this.rtm.storage.subscribeUserMetadata(target.userId)
      await this.#load()
    })
  }

  /**
   * Sets `key` to `value`. With `basedOnRevision` (the revision the user saw; 0 = the item
   * must not exist yet), the write only happens if nobody changed the item since
   * (compare-and-set); otherwise it becomes `conflict`.
   */
  set(key: string, value: string, basedOnRevision?: number): Promise<void> {
    return this.#write({ kind: 'set', key, value, revision: basedOnRevision ?? -1 })
  }

  remove(key: string, basedOnRevision?: number): Promise<void> {
    return this.#write({ kind: 'remove', key, revision: basedOnRevision ?? -1 })
  }

  /** Resolves the conflict with my value: written again against the revision stored now. */
  keepMine(): Promise<void> {
    const write = this.#conflict && keepMine(this.#conflict)
    if (write) return this.#write(write)
    this.takeTheirs()
    return Promise.resolve()
  }

  /** Resolves the conflict with what is stored: my edit is dropped. */
  takeTheirs(): void {
    this.#conflict = null
    this.#actions.show(null)
  }

  reload(): Promise<void> {
    return this.#actions.run(() => this.#load())
  }

  destroy(): void {
    this.#off()
    void this.#unfollow().catch(() => undefined)
  }

  #receive(event: StorageEvent): void {
    const target = this.#target
    if (!target) return
    const matches = target.kind === 'CHANNEL'
      ? event.storageType === 'CHANNEL' && event.channelType === 'MESSAGE' && event.channelName === target.channelName
      : event.storageType === 'USER' && event.channelName === target.userId
    if (!matches) return
    const { metadata, majorRevision } = event.data
    if (event.eventType === 'SNAPSHOT') this.#items = new Map(Object.entries(metadata))
    else if (event.eventType === 'REMOVE') {
      const next = new Map(this.#items)
      for (const key of Object.keys(metadata)) next.delete(key)
      this.#items = next
    } else this.#items = new Map([...this.#items, ...Object.entries(metadata)])
    this.#majorRevision = majorRevision
    // While the user chooses, "theirs" shows what is stored now, not what was stored then.
    const conflict = this.#conflict
    if (conflict && (event.eventType === 'SNAPSHOT' || Object.hasOwn(metadata, conflict.key))) {
      this.#conflict = { ...conflict, theirs: this.#items.get(conflict.key) ?? null }
    }
  }

  async #load(): Promise<void> {
    const target = this.#target
    if (!target) return
    const result = target.kind === 'CHANNEL'
      ? await this.rtm.storage.getChannelMetadata(target.channelName, 'MESSAGE')
      : await this.rtm.storage.getUserMetadata({ userId: target.userId })
    if (target !== this.#target) return
    this.#items = new Map(Object.entries(result.metadata))
    this.#majorRevision = result.majorRevision
  }

  async #unfollow(): Promise<void> {
    const target = this.#target
    // A channel stays subscribed: the chat or locks panel may be using it too.
    if (target?.kind === 'USER') await this.rtm.storage.unsubscribeUserMetadata(target.userId).catch(() => undefined)
  }

  #write(write: MetadataWrite): Promise<void> {
    return this.#actions.run(async () => {
      const target = this.#target
      if (!target) throw new Error('open a channel or a user first')
      try {
        await this.#send(target, write)
        this.#conflict = null
      } catch (error) {
        if (!isRtmError(error) || error.name !== 'STORAGE_OUTDATED_REVISION') throw error
        await this.#showConflict(write, error)
      }
    })
  }

  #send(target: MetadataTarget, write: MetadataWrite): Promise<unknown> {
    const item: MetadataItem = write.kind === 'set' ? { key: write.key, value: write.value, revision: write.revision } : { key: write.key, revision: write.revision }
    const options = { addTimeStamp: true, addUserId: true }
    if (write.kind === 'set') {
      return target.kind === 'CHANNEL'
        ? this.rtm.storage.setChannelMetadata(target.channelName, 'MESSAGE', [item], options)
        : this.rtm.storage.setUserMetadata([item], { ...options, userId: target.userId })
    }
    return target.kind === 'CHANNEL'
      ? this.rtm.storage.removeChannelMetadata(target.channelName, 'MESSAGE', { data: [item] })
      : this.rtm.storage.removeUserMetadata({ userId: target.userId, data: [item] })
  }

  /** Fetches what is stored now, to put beside mine; if that is already mine, there is nothing to choose. */
  async #showConflict(write: MetadataWrite, error: unknown): Promise<void> {
    await this.#load()
    const mine = write.kind === 'set' ? write.value : null
    const conflict: Conflict = { key: write.key, mine, basedOn: write.revision, theirs: this.#items.get(write.key) ?? null }
    if (isSettled(conflict)) {
      this.#conflict = null
      return
    }
    this.#conflict = conflict
    const explained = explainError(error)
    // Revision 0 was "add": nobody changed it meanwhile, it was there already.
    this.#actions.show(write.revision === 0 ? { ...explained, message: 'That key is taken already.' } : explained)
  }
}
