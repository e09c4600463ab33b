import { ChannelType, type ChannelTypeName } from '../protocol/enums'
import type { ServerEvent } from '../protocol/events'
import type { RTM } from './client'
import { toLockEvent, type LockDetail, type WireLockEvent } from './topic-storage-lock-events'

type Done = { timestamp: number; channelName: string; channelType: ChannelTypeName; lockName: string }
type Core = Pick<RTM, 'request' | 'emit' | 'wireHandlers'>

/**
 * `rtm.lock` (SDK.md; seed 000 "Lock"): named locks in a channel with a TTL that keeps a
 * lock with its owner while the owner is offline.
 *
 * @example
 * await rtm.lock.setLock('room', 'MESSAGE', 'mic', { ttl: 30 })
 * await rtm.lock.acquireLock('room', 'MESSAGE', 'mic', { retry: true }) // waits in line
 * await rtm.lock.releaseLock('room', 'MESSAGE', 'mic')
 */
export class LockApi {
  constructor(private readonly core: Core) {
    core.wireHandlers.set('lock', (event: ServerEvent) => core.emit('lock', toLockEvent(event as WireLockEvent)))
  }

  /** Creates a lock with a TTL (seconds, [10, 300]); one that exists already fails with -14004 LOCK_ALREADY_EXIST. */
  setLock(channelName: string, channelType: ChannelTypeName, lockName: string, options: { ttl?: number } = {}): Promise<Done> {
    return this.call('setLock', channelName, channelType, lockName, options)
  }

  /** With `retry`, waits in line until granted (or we leave the channel) instead of failing at once. */
  acquireLock(channelName: string, channelType: ChannelTypeName, lockName: string, options: { retry?: boolean } = {}): Promise<Done> {
    const retry = options.retry ?? false
    // Waiting in line has no deadline of its own: it ends when granted or when we leave the channel.
    return this.call('acquireLock', channelName, channelType, lockName, { retry }, retry ? null : undefined)
  }

  releaseLock(channelName: string, channelType: ChannelTypeName, lockName: string): Promise<Done> {
    return this.call('releaseLock', channelName, channelType, lockName, {})
  }

  /** Takes the lock away from `owner`, so that others can acquire it. */
  revokeLock(channelName: string, channelType: ChannelTypeName, lockName: string, owner: string): Promise<Done> {
    return this.call('revokeLock', channelName, channelType, lockName, { owner })
  }

  removeLock(channelName: string, channelType: ChannelTypeName, lockName: string): Promise<Done> {
    return this.call('removeLock', channelName, channelType, lockName, {})
  }

  async getLock(channelName: string, channelType: ChannelTypeName): Promise<{ timestamp: number; channelName: string; channelType: ChannelTypeName; totalLocks: number; lockDetails: LockDetail[] }> {
    const result = await this.core.request('getLock', { channelName, channelType: ChannelType[channelType] })
    const lockDetails = (result.lockDetails ?? []) as LockDetail[]
    return { timestamp: result.timestamp, channelName, channelType, totalLocks: Number(result.totalLocks ?? lockDetails.length), lockDetails }
  }

  destroy(): void {
    this.core.wireHandlers.delete('lock')
  }

  private async call(op: string, channelName: string, channelType: ChannelTypeName, lockName: string, extra: object, timeoutMs?: number | null): Promise<Done> {
    const result = await this.core.request(op, { ...extra, channelName, channelType: ChannelType[channelType], lockName }, timeoutMs)
    return { timestamp: result.timestamp, channelName, channelType, lockName }
  }
}
