import { describe, expect, it } from 'vitest'
import { aliceToBobOnStage, Capture, relayPerTest } from './helpers'
import { expectCode } from './relay-control'

describe('stream channels and topics through the SDK on a real relay', () => {
  const world = relayPerTest()
  const join = world.join

  it('a subscriber hears the publishers it picked, with topic name, custom type and publisher', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const atAlice = alice.createStreamChannel('stage')
    const atBob = bob.createStreamChannel('stage')
    await atAlice.join()
    await atBob.join()
    await atAlice.joinTopic('slides', { meta: 'presenter', qos: 'ORDERED' })
    const result = await atBob.subscribeTopic('slides', { users: ['alice', 'nobody'] })
    expect(result).toMatchObject({ channelName: 'stage', topicName: 'slides', succeedUsers: ['alice'], failedUsers: ['nobody'] })

    const messages = new Capture(bob, 'message')
    await atAlice.publishTopicMessage('slides', 'page 2', { customType: 'nav' })
    expect(await messages.next()).toMatchObject({
      channelType: 'STREAM', channelName: 'stage', topicName: 'slides', publisher: 'alice', message: 'page 2', customType: 'nav', messageType: 'STRING',
    })

    await atBob.unsubscribeTopic('slides', { users: ['alice'] })
    await atAlice.publishTopicMessage('slides', 'unheard')
    await atAlice.publishTopicMessage('slides', 'unheard 2')
    await atBob.subscribeTopic('slides', { users: ['alice'] })
    await atAlice.publishTopicMessage('slides', 'heard again')
    await messages.next((e) => e.message === 'heard again')
    expect(messages.seen.map((e) => e.message)).toEqual(['page 2', 'heard again'])
  })

  it('topic events: SNAPSHOT on join, REMOTE_JOIN and REMOTE_LEAVE with publisher meta', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const atAlice = alice.createStreamChannel('stage')
    await atAlice.join()
    await atAlice.joinTopic('audio', { meta: 'mic 1' })

    const events = new Capture(bob, 'topic')
    const atBob = bob.createStreamChannel('stage')
    await atBob.join()
    const snapshot = await events.next((e) => e.eventType === 'SNAPSHOT')
    expect(snapshot.topicInfos).toEqual([{ topicName: 'audio', publishers: [{ publisherUserId: 'alice', publisherMeta: 'mic 1' }], totalPublisher: 1 }])

    await atAlice.joinTopic('video', { meta: 'cam' })
    const joined = await events.next((e) => e.eventType === 'REMOTE_JOIN')
    expect(joined).toMatchObject({ channelName: 'stage', publisher: 'alice' })
    expect(joined.topicInfos[0]).toMatchObject({ topicName: 'video', publishers: [{ publisherUserId: 'alice', publisherMeta: 'cam' }] })

    await atAlice.leaveTopic('video')
    const left = await events.next((e) => e.eventType === 'REMOTE_LEAVE')
    expect(left).toMatchObject({ publisher: 'alice' })
    expect(left.topicInfos[0].topicName).toBe('video')
  })

  it('publishing needs a joined topic (-11016); payload over 1 KB is -11010; meta over 256 bytes is -11018', async () => {
    const alice = await join('alice')
    const stage = alice.createStreamChannel('stage')
    await stage.join()
    await expectCode(stage.publishTopicMessage('slides', 'hi'), -11016)
    await expectCode(stage.joinTopic('slides', { meta: 'x'.repeat(257) }), -11018)
    await stage.joinTopic('slides', { meta: 'x'.repeat(256) })
    await expectCode(stage.publishTopicMessage('slides', 'x'.repeat(1025)), -11010)
    await stage.publishTopicMessage('slides', 'x'.repeat(1024))
  })

  it('at most 8 joined topics per channel: the ninth is refused with -11014', async () => {
    const alice = await join('alice')
    const stage = alice.createStreamChannel('stage')
    await stage.join()
    for (let i = 1; i <= 8; i++) await stage.joinTopic(`t${i}`)
    await expectCode(stage.joinTopic('t9'), -11014)
    await stage.leaveTopic('t1')
    await stage.joinTopic('t9')
  })

  it('topics need a joined stream channel, and leaving it ends publishing', async () => {
    const alice = await join('alice')
    const stage = alice.createStreamChannel('stage')
    await expectCode(stage.joinTopic('slides'), -11001)
    await stage.join()
    await stage.joinTopic('slides')
    await stage.leave()
    await expectCode(stage.publishTopicMessage('slides', 'after leave'), -11001)
  })

  it('binary topic messages arrive as bytes', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const { atAlice } = await aliceToBobOnStage(alice, bob, 'bin')
    const messages = new Capture(bob, 'message')
    await atAlice.publishTopicMessage('bin', new Uint8Array([0, 1, 255]))
    const event = await messages.next()
    expect(event.messageType).toBe('BINARY')
    expect([...(event.message as Uint8Array)]).toEqual([0, 1, 255])
  })
})
