import { RTM, type LinkStateEvent, type RecoveryEvent, type RTMConfig, type StreamChannel } from '../../src/sdk'

/**
 * What the serverless e2e tests drive in each page: one RTM client in the given mode,
 * with every message, storage, lock and link-state event recorded for assertions.
 */
export interface Harness {
  rtm: RTM | null
  /** `offset`/`epoch` for a message kept in history; `recovered` for one delivered by recovery after a reconnect. */
  messages: { publisher: string; message: string; topicName: string; offset?: number; epoch?: string; recovered?: boolean }[]
  recoveries: Pick<RecoveryEvent, 'channelName' | 'recovered' | 'count'>[]
  /** Stream channels a test created, by name. */
  streams: Record<string, StreamChannel>
  links: Pick<LinkStateEvent, 'currentState' | 'previousState' | 'operation' | 'isResumed'>[]
  storage: unknown[]
  locks: unknown[]
  start(appId: string, userId: string, config: RTMConfig): Promise<void>
}

const harness: Harness = {
  rtm: null,
  messages: [],
  recoveries: [],
  streams: {},
  links: [],
  storage: [],
  locks: [],
  async start(appId, userId, config) {
    const rtm = new RTM(appId, userId, config)
    harness.rtm = rtm
    rtm.addEventListener('message', (event) => harness.messages.push({
      publisher: event.publisher, message: String(event.message), topicName: event.topicName ?? '', offset: event.offset, epoch: event.epoch, recovered: event.recovered === true,
    }))
    rtm.addEventListener('recovery', (event) => harness.recoveries.push({ channelName: event.channelName, recovered: event.recovered, count: event.count }))
    rtm.addEventListener('linkState', (event) => harness.links.push({
      currentState: event.currentState, previousState: event.previousState, operation: event.operation, isResumed: event.isResumed,
    }))
    rtm.addEventListener('storage', (event) => harness.storage.push(event))
    rtm.addEventListener('lock', (event) => harness.locks.push(event))
    // Rejections cross page.evaluate as text: keep the SDK's code and reason readable.
    await rtm.login().catch((error: unknown) => { throw new Error(`login failed: ${JSON.stringify(error)}`) })
  },
}

;(globalThis as unknown as { harness: Harness }).harness = harness
