import type { RTM } from '../../sdk'

/**
 * Subscribes to a message channel with every event kind, so that the chat, metadata and
 * locks panels can share one subscription whichever of them opens the channel first.
 */
export async function subscribeForPanels(rtm: RTM, channelName: string): Promise<void> {
  await rtm.subscribe(channelName, { withMessage: true, withPresence: true, withMetadata: true, withLock: true })
}
