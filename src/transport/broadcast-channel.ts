import type { Envelope } from '../protocol/peer-envelope'
import type { EnvelopeBus } from './follower-link'

/** The BroadcastChannel all tabs of one origin and app share (tabs mode). */
export function tabsChannelName(appId: string): string {
  return `rtm-tabs:${appId}`
}

/**
 * An envelope bus over a BroadcastChannel of its own: a channel instance does not hear
 * its own posts but hears every other instance, including others in this tab.
 */
export function broadcastBus(name: string): EnvelopeBus {
  const channel = new BroadcastChannel(name)
  const listeners = new Set<(raw: unknown) => void>()
  channel.onmessage = (event: MessageEvent) => {
    for (const listener of listeners) listener(event.data)
  }
  // A message that cannot be deserialized is dropped; nothing to answer.
  channel.onmessageerror = () => undefined
  return {
    post(envelope: Envelope) {
      channel.postMessage(envelope)
    },
    listen(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    release() {
      listeners.clear()
      channel.close()
    },
  }
}
