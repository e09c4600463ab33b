import { describe, expect, it } from 'vitest'
import type { MessageEvent as WireMessage, ServerEvent } from '../protocol/events'
import type { RtmEventMap } from './events'
import type { Restorer } from './client'
import { StreamChannels } from './stream-channel'

/** The slice of RTM that stream channels use, recording what they send and emit. */
function core() {
  const sent: { op: string; args: Record<string, unknown> }[] = []
  const emitted: { name: string; payload: unknown }[] = []
  const restorers: Restorer[] = []
  const wireHandlers = new Map<string, (event: ServerEvent) => void>()
  const answer = async (op: string, args: Record<string, unknown>) => {
    sent.push({ op, args })
    return op === 'subscribeTopic' ? { succeedUsers: (args.users as string[] | undefined) ?? [], failedUsers: [] } : {}
  }
  return {
    sent, emitted, restorers, wireHandlers,
    request: async (op: string, args: Record<string, unknown>) => ({ ...(await answer(op, args)), timestamp: 1 }),
    connection: { requestNow: answer },
    emit: <K extends keyof RtmEventMap>(name: K, payload: RtmEventMap[K]) => { emitted.push({ name: String(name), payload }) },
    addRestorer: (restorer: Restorer) => { restorers.push(restorer); return () => undefined },
    seal: async (message: string | Uint8Array) => message,
  }
}

const topicMessage = (seq: number, publisher = 'alice', topicName = 'ticks'): WireMessage & { seq: number } => ({
  kind: 'message', channelType: 2, channelName: 'stage', topicName, messageType: 1, customType: '', message: String(seq),
  publisher, publishTime: 0, timestamp: 0, seq,
})

describe('stream channels in the SDK', () => {
  it('an ordered topic never delivers a publisher\'s message twice or after a later one', () => {
    const streams = new StreamChannels(core() as never)
    const accepted = [1, 2, 2, 4, 3, 5].filter((seq) => streams.accepts(topicMessage(seq)))
    expect(accepted).toEqual([1, 2, 4, 5])
    // Publishers and topics are counted apart.
    expect(streams.accepts(topicMessage(1, 'bob'))).toBe(true)
    expect(streams.accepts(topicMessage(1, 'alice', 'other'))).toBe(true)
  })

  it('messages without a seq, and message-channel messages, pass unchanged', () => {
    const streams = new StreamChannels(core() as never)
    const { seq: _seq, ...plain } = topicMessage(1)
    expect(streams.accepts(plain)).toBe(true)
    expect(streams.accepts(plain)).toBe(true)
    expect(streams.accepts({ ...topicMessage(1), channelType: 1 })).toBe(true)
    expect(streams.accepts({ ...topicMessage(1), channelType: 1 })).toBe(true)
  })

  it('a publisher joining the topic again starts a new sequence', () => {
    const rtm = core()
    const streams = new StreamChannels(rtm as never)
    expect(streams.accepts(topicMessage(7))).toBe(true)
    rtm.wireHandlers.get('topic')!({
      kind: 'topic', eventType: 2, channelName: 'stage', publisher: 'alice', totalTopics: 1, timestamp: 0,
      topicInfos: [{ topicName: 'ticks', publishers: [{ publisherUserId: 'alice', publisherMeta: '' }], totalPublisher: 1 }],
    } as unknown as ServerEvent)
    expect(streams.accepts(topicMessage(1))).toBe(true)
    expect(rtm.emitted[0]).toMatchObject({ name: 'topic', payload: { eventType: 'REMOTE_JOIN', channelName: 'stage' } })
  })

  it('after a lost session, joins the channel, its topics and its subscriptions again, in that order', async () => {
    const rtm = core()
    const streams = new StreamChannels(rtm as never)
    const stage = streams.create('stage')
    await stage.join({ withPresence: true, withLock: true })
    await stage.joinTopic('ticks', { meta: 'cam', qos: 'ORDERED', priority: 'HIGH' })
    await stage.subscribeTopic('ticks', { users: ['bob'] })
    await stage.subscribeTopic('ticks', { users: ['carol'] })
    await stage.subscribeTopic('audio')
    await stage.unsubscribeTopic('ticks', { users: ['bob'] })
    await stage.subscribeTopic('emptied', { users: ['dave'] })
    await stage.unsubscribeTopic('emptied', { users: ['dave'] })
    streams.create('unjoined')
    rtm.sent.length = 0

    expect(await rtm.restorers[0](true)).toEqual([])
    expect(rtm.sent).toEqual([])

    expect(await rtm.restorers[0](false)).toEqual([])
    expect(rtm.sent).toEqual([
      { op: 'joinStream', args: { withPresence: true, withLock: true, channelName: 'stage' } },
      { op: 'joinTopic', args: { channelName: 'stage', topicName: 'ticks', meta: 'cam', syncWithMedia: undefined, qos: 1, priority: 1 } },
      { op: 'subscribeTopic', args: { channelName: 'stage', topicName: 'ticks', users: ['carol'] } },
      { op: 'subscribeTopic', args: { channelName: 'stage', topicName: 'audio' } },
    ])
  })

  it('a channel left or released is not restored, and create() then gives a new instance', async () => {
    const rtm = core()
    const streams = new StreamChannels(rtm as never)
    const stage = streams.create('stage')
    expect(streams.create('stage')).toBe(stage)
    await stage.join()
    await stage.release()
    expect(rtm.sent.map((s) => s.op)).toEqual(['joinStream', 'leaveStream'])
    expect(streams.create('stage')).not.toBe(stage)
    rtm.sent.length = 0
    await rtm.restorers[0](false)
    expect(rtm.sent).toEqual([])
  })
})

describe('stream channels after logout', () => {
  it('forgetAll leaves nothing to restore into a later session', async () => {
    const rtm = core()
    const streams = new StreamChannels(rtm as never)
    const stage = streams.create('stage')
    await stage.join()
    await stage.joinTopic('ticks')
    streams.forgetAll()
    expect(stage.joined).toBe(false)
    rtm.sent.length = 0
    await rtm.restorers[0](false)
    expect(rtm.sent).toEqual([])
  })
})
