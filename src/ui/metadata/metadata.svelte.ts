import type { UserError } from '../shared/errors'
import type { MetadataDetail, MetadataItem, RTM, StorageEvent } from '../../sdk'
import { subscribeForPanels } from '../shared/channel'
import { Actions } from '../shared/actions.svelte'

/** Whose metadata the panel edits: a message channel's or a user's. */
export type MetadataTarget = { kind: 'CHANNEL'; channelName: string } | { kind: 'USER'; userId: string }

export interface MetadataRow extends MetadataDetail { key: string }

/**
 * The Metadata panel's state: one target's items (value, revision, author, updated time),
 * kept live by storage events. Writes record time and author; a write may carry the
 * revision it was based on, and a CAS conflict is kept in `error` for the panel to show.
 */
export class MetadataState {
  #target = $state<MetadataTarget | null>(null)
  // Item key → detail. A Map, so keys any user may write (`__proto__`, `constructor`) are ordinary keys; replaced, never mutated.
  #items = $state.raw<ReadonlyMap<string, MetadataDetail>>(new Map())
  #majorRevision = $state(-1)
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
  get rows(): MetadataRow[] {
    return [...this.#items].map(([key, detail]) => ({ key, ...detail })).sort((a, b) => a.key.localeCompare(b.key))
  }

  /** Starts following a target: subscribes for live events and loads the current items. */
  open(target: MetadataTarget): Promise<void> {
    return this.#actions.run(async () => {
      await this.#unfollow()
      this.#target = target
      this.#items = new Map()
      this.#majorRevision = -1
      if (target.kind === 'CHANNEL') await subscribeForPanels(this.rtm, target.channelName)
      else await this.rtm.storage.subscribeUserMetadata(target.userId)
      await this.#load()
    })
  }

  /**
   * Sets `key` to `value`. With `basedOnRevision` (the revision the user saw), the write
   * only happens if nobody changed the item since (compare-and-set).
   */
  set(key: string, value: string, basedOnRevision?: number): Promise<void> {
    const item: MetadataItem = { key, value, revision: basedOnRevision ?? -1 }
    return this.#write(async (target) => {
      const options = { addTimeStamp: true, addUserId: true }
      if (target.kind === 'CHANNEL') await this.rtm.storage.setChannelMetadata(target.channelName, 'MESSAGE', [item], options)
      else await this.rtm.storage.setUserMetadata([item], { ...options, userId: target.userId })
    })
  }

  remove(key: string, basedOnRevision?: number): Promise<void> {
    const data: MetadataItem[] = [{ key, revision: basedOnRevision ?? -1 }]
    return this.#write(async (target) => {
      if (target.kind === 'CHANNEL') await this.rtm.storage.removeChannelMetadata(target.channelName, 'MESSAGE', { data })
      else await this.rtm.storage.removeUserMetadata({ userId: target.userId, data })
    })
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
  }

  async #load(): Promise<void> {
    const target = this.#target
    if (!target) return
    const result = target.kind === 'CHANNEL'
      ? await this.rtm.storage.getChannelMetadata(target.channelName, 'MESSAGE')
      : await this.rtm.storage.getUserMetadata({ userId: target.userId })
    this.#items = new Map(Object.entries(result.metadata))
    this.#majorRevision = result.majorRevision
  }

  async #unfollow(): Promise<void> {
    const target = this.#target
    // A channel stays subscribed: the chat or locks panel may be using it too.
    if (target?.kind === 'USER') await this.rtm.storage.unsubscribeUserMetadata(target.userId).catch(() => undefined)
  }

  #write(action: (target: MetadataTarget) => Promise<void>): Promise<void> {
    return this.#actions.run(async () => {
      const target = this.#target
      if (!target) throw new Error('open a channel or a user first')
      await action(target)
    })
  }
}
