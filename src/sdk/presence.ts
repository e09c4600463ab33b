import { ChannelType, type ChannelTypeName } from '../protocol/enums'

type Send = (op: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>

export interface GetOnlineUsersOptions {
  includedUserId?: boolean
  includedState?: boolean
  page?: string
}

/** `rtm.presence` (SDK.md): who is where, and each user's temporary state per channel. */
export class PresenceApi {
  /** States this client set, per channel, to put back if a coordinator loses them. */
  private readonly ownStates = new Map<string, { channelName: string; channelType: number; states: Record<string, string> }>()

  constructor(private readonly send: Send) {}

  getOnlineUsers(channelName: string, channelType: ChannelTypeName, options: GetOnlineUsersOptions = {}) {
    return this.send('getOnlineUsers', { channelName, channelType: ChannelType[channelType], ...options }) as Promise<{
      timestamp: number; totalOccupancy: number; nextPage: string
      occupants: { userId: string; states: Record<string, string>; statesCount: number }[]
    }>
  }

  /** Agora's older name for getOnlineUsers. */
  whoNow(channelName: string, channelType: ChannelTypeName, options: GetOnlineUsersOptions = {}) {
    return this.getOnlineUsers(channelName, channelType, options)
  }

  getUserChannels(userId: string) {
    return this.send('getUserChannels', { userId }) as Promise<{
      timestamp: number; totalChannel: number; channels: { channelName: string; channelType: number }[]
    }>
  }

  whereNow(userId: string) {
    return this.getUserChannels(userId)
  }

  async setState(channelName: string, channelType: ChannelTypeName, states: Record<string, string>) {
    const result = await this.send('setState', { channelName, channelType: ChannelType[channelType], states })
    const key = `${channelType}:${channelName}`
    const own = this.ownStates.get(key)
    this.ownStates.set(key, { channelName, channelType: ChannelType[channelType], states: { ...own?.states, ...states } })
    return result as { timestamp: number; channelName: string }
  }

  getState(userId: string, channelName: string, channelType: ChannelTypeName) {
    return this.send('getState', { userId, channelName, channelType: ChannelType[channelType] }) as Promise<{
      timestamp: number; userId: string; states: Record<string, string>
    }>
  }

  async removeState(channelName: string, channelType: ChannelTypeName, options: { states?: string[] } = {}) {
    const result = await this.send('removeState', { channelName, channelType: ChannelType[channelType], states: options.states })
    const key = `${channelType}:${channelName}`
    const own = this.ownStates.get(key)
    if (own) {
      if (!options.states) this.ownStates.delete(key)
      else for (const stateKey of options.states) delete own.states[stateKey]
    }
    return result as { timestamp: number; channelName: string }
  }

  /** After a coordinator lost the session: set our states again. */
  async restoreStates(send: Send): Promise<void> {
    for (const own of this.ownStates.values()) {
      if (Object.keys(own.states).length > 0) await send('setState', { ...own }).catch(() => undefined)
    }
  }
}
