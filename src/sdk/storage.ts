import { ChannelType, type ChannelTypeName } from '../protocol/enums'
import type { ServerEvent } from '../protocol/events'
import type { RTM } from './client'
import { toStorageEvent, type MetadataData, type WireStorageEvent } from './topic-storage-lock-events'

/** A metadata item to write: `revision` -1 (default) = no check, > 0 = compare-and-set (seed 000, Metadata). */
export interface MetadataItem { key: string; value?: string; revision?: number }

export interface MetadataOptions {
  /** CAS on the whole set: -1 (default) = no check. */
  majorRevision?: number
  /** Record the edit's time in `updated` (seed: recordTs). */
  addTimeStamp?: boolean
  /** Record the editor in `authorUid` (seed: recordUserId). */
  addUserId?: boolean
}
export interface ChannelMetadataOptions extends MetadataOptions {
  /** Only the owner of this lock may write. */
  lockName?: string
}
export interface RemoveChannelMetadataOptions { majorRevision?: number; lockName?: string; data?: MetadataItem[] }
export interface UserMetadataOptions extends MetadataOptions { userId?: string }
export interface RemoveUserMetadataOptions { userId?: string; majorRevision?: number; data?: MetadataItem[] }

export type ChannelMetadataResult = MetadataData & { timestamp: number; channelName: string; channelType: ChannelTypeName }
export type UserMetadataResult = MetadataData & { timestamp: number; userId: string }
type Done = { timestamp: number }

type Core = Pick<RTM, 'request' | 'emit' | 'addRestorer' | 'wireHandlers' | 'connection'>

/**
 * `rtm.storage` (SDK.md): channel metadata (message and stream channels) and user metadata,
 * with per-item `revision` and whole-set `majorRevision` compare-and-set.
 *
 * @example
 * await rtm.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'topic', value: 'launch' }], { addUserId: true })
 * const { metadata } = await rtm.storage.getChannelMetadata('room', 'MESSAGE')
 */
export class StorageApi {
  /** Users whose metadata we follow; made again after a coordinator lost the session. */
  private readonly followedUsers = new Set<string>()
  private readonly unregister: () => void

  constructor(private readonly core: Core) {
    core.wireHandlers.set('storage', (event: ServerEvent) => core.emit('storage', toStorageEvent(event as WireStorageEvent)))
    this.unregister = core.addRestorer((resumed) => this.restore(resumed))
  }

  setChannelMetadata(channelName: string, channelType: ChannelTypeName, items: MetadataItem[], options: ChannelMetadataOptions = {}): Promise<Done> {
    return this.channelWrite('setChannelMetadata', channelName, channelType, items, options)
  }

  updateChannelMetadata(channelName: string, channelType: ChannelTypeName, items: MetadataItem[], options: ChannelMetadataOptions = {}): Promise<Done> {
    return this.channelWrite('updateChannelMetadata', channelName, channelType, items, options)
  }

  /** Removes the items in `options.data`, or the whole set when `data` is absent. */
  removeChannelMetadata(channelName: string, channelType: ChannelTypeName, options: RemoveChannelMetadataOptions = {}): Promise<Done> {
    const { data, ...rest } = options
    return this.channelWrite('removeChannelMetadata', channelName, channelType, data, rest)
  }

  async getChannelMetadata(channelName: string, channelType: ChannelTypeName): Promise<ChannelMetadataResult> {
    const result = await this.core.request('getChannelMetadata', { channelName, channelType: ChannelType[channelType] })
    return { ...(result as unknown as MetadataData & Done), channelName, channelType }
  }

  setUserMetadata(items: MetadataItem[], options: UserMetadataOptions = {}): Promise<Done> {
    return this.core.request('setUserMetadata', { ...options, items })
  }

  updateUserMetadata(items: MetadataItem[], options: UserMetadataOptions = {}): Promise<Done> {
    return this.core.request('updateUserMetadata', { ...options, items })
  }

  /** Removes the items in `options.data`, or all of the user's metadata when `data` is absent. */
  removeUserMetadata(options: RemoveUserMetadataOptions = {}): Promise<Done> {
    const { data, ...rest } = options
    return this.core.request('removeUserMetadata', { ...rest, ...(data ? { items: data } : {}) })
  }

  /** Another user's metadata, or ours without `userId`. */
  async getUserMetadata(options: { userId?: string } = {}): Promise<UserMetadataResult> {
    const result = await this.core.request('getUserMetadata', options)
    return { ...(result as unknown as MetadataData & Done), userId: String(result.userId ?? options.userId ?? '') }
  }

  /** Follow a user's metadata: a SNAPSHOT now, then SET / UPDATE / REMOVE storage events. */
  async subscribeUserMetadata(userId: string): Promise<Done & { userId: string }> {
    const result = await this.core.request('subscribeUserMetadata', { userId })
    this.followedUsers.add(userId)
    return { ...result, userId }
  }

  async unsubscribeUserMetadata(userId: string): Promise<Done & { userId: string }> {
    const result = await this.core.request('unsubscribeUserMetadata', { userId })
    this.followedUsers.delete(userId)
    return { ...result, userId }
  }

  /** After logout: the coordinator dropped our follows; a later session makes its own. */
  forgetFollows(): void {
    this.followedUsers.clear()
  }

  destroy(): void {
    this.unregister()
    this.core.wireHandlers.delete('storage')
  }

  private channelWrite(op: string, channelName: string, channelType: ChannelTypeName, items: MetadataItem[] | undefined, options: object): Promise<Done> {
    return this.core.request(op, { ...options, channelName, channelType: ChannelType[channelType], ...(items ? { items } : {}) })
  }

  /** A coordinator that lost our session lost our metadata subscriptions too (the metadata itself is durable). */
  private async restore(resumed: boolean): Promise<string[]> {
    if (resumed) return []
    const failed: string[] = []
    for (const userId of this.followedUsers) {
      await this.core.connection.requestNow('subscribeUserMetadata', { userId }).catch(() => failed.push(`user:${userId}`))
    }
    return failed
  }
}

