import { describe, expect, it } from 'vitest'
import { MAX_JOINED_TOPICS, MAX_PUBLISHERS_PER_SUBSCRIPTION, MAX_STREAM_CHANNELS, MAX_SUBSCRIBED_TOPICS, MAX_TOPICS_PER_CHANNEL } from './streams'
import { TestWorld } from './test-world'

const join = (channelName: string, options = {}) => ({ op: 'joinStream' as const, args: { channelName, ...options } })
const joinTopic = (topicName: string, options: { meta?: string; qos?: 0 | 1 } = {}, channelName = 'stage') =>
  ({ op: 'joinTopic' as const, args: { channelName, topicName, ...options } })
const publish = (topicName: string, message: string | Uint8Array, customType?: string, channelName = 'stage') =>
  ({ op: 'publishTopicMessage' as const, args: { channelName, topicName, message, customType } })
const subscribe = (topicName: string, users?: string[], channelName = 'stage') => ({ op: 'subscribeTopic' as const, args: { channelName, topicName, users } })
const unsubscribe = (topicName: string, users?: string[], channelName = 'stage') => ({ op: 'unsubscribeTopic' as const, args: { channelName, topicName, users } })

/** alice and bob both in stream channel "stage". */
function stage() {
  const w = new TestWorld()
  w.login('a', 'alice')
  w.login('b', 'bob')
  w.ok('a', join('stage'))
  w.ok('b', join('stage'))
  w.clear()
  return w
}

describe('stream channels', () => {
  it('join gives the joiner presence and topic SNAPSHOTs; others see REMOTE_JOIN', () => {
    const w = new TestWorld()
    w.login('a', 'alice')
    w.login('b', 'bob')
    w.ok('a', join('stage'))
    w.ok('a', joinTopic('audio', { meta: 'mic 1' }))
    w.ok('b', join('stage'))
    expect(w.events('b', 'presence')[0]).toMatchObject({ eventType: 1, channelType: 2, channelName: 'stage' })
    expect(w.events('b', 'topic')).toEqual([{
      kind: 'topic', eventType: 1, channelName: 'stage', publisher: '', totalTopics: 1, timestamp: w.now,
      topicInfos: [{ topicName: 'audio', publishers: [{ publisherUserId: 'alice', publisherMeta: 'mic 1' }], totalPublisher: 1 }],
    }])
    expect(w.events('a', 'presence').at(-1)).toMatchObject({ eventType: 3, publisher: 'bob', channelType: 2 })
  })

  it('an invalid channel name is -10008; leaving a channel not joined is -11001', () => {
    const w = new TestWorld()
    w.login('a', 'alice')
    expect(w.code('a', join(''))).toBe(-10008)
    expect(w.code('a', { op: 'leaveStream', args: { channelName: 'stage' } })).toBe(-11001)
  })

  it(`at most ${MAX_STREAM_CHANNELS} joined stream channels (-11005)`, () => {
    const w = new TestWorld()
    w.login('a', 'alice')
    for (let i = 0; i < MAX_STREAM_CHANNELS; i++) w.ok('a', join(`s${i}`))
    expect(w.code('a', join('one-more'))).toBe(-11005)
    w.ok('a', join('s0'))
  })

  it('topic operations need a joined channel (-11001)', () => {
    const w = new TestWorld()
    w.login('a', 'alice')
    expect(w.code('a', joinTopic('t'))).toBe(-11001)
    expect(w.code('a', publish('t', 'x'))).toBe(-11001)
    expect(w.code('a', subscribe('t'))).toBe(-11001)
  })

  it('leaving ends publishing and subscriptions: topic REMOTE_LEAVE to the others', () => {
    const w = stage()
    w.ok('a', joinTopic('t'))
    w.ok('a', subscribe('t', ['bob']))
    w.ok('a', { op: 'leaveStream', args: { channelName: 'stage' } })
    expect(w.events('b', 'topic').map((e) => [e.eventType, e.publisher])).toEqual([[2, 'alice'], [3, 'alice']])
    w.ok('a', join('stage'))
    expect(w.code('a', publish('t', 'x'))).toBe(-11016)
    expect(w.code('a', unsubscribe('t'))).toBe(-11013)
  })
})

describe('topics', () => {
  it('a message reaches only subscribers who picked that publisher, with topicName, channelType 2 and a seq', () => {
    const w = stage()
    w.login('c', 'carol')
    w.ok('c', join('stage'))
    w.ok('a', joinTopic('t'))
    w.ok('b', subscribe('t', ['alice']))
    w.ok('a', publish('t', 'hello', 'nav'))
    expect(w.events('b', 'message')).toEqual([expect.objectContaining({
      channelType: 2, channelName: 'stage', topicName: 't', publisher: 'alice', message: 'hello', customType: 'nav', messageType: 1, seq: expect.any(Number),
    })])
    expect(w.events('c', 'message')).toEqual([])
    expect(w.events('a', 'message')).toEqual([])
  })

  it('meta over 256 bytes is -11018; 256 is fine', () => {
    const w = stage()
    expect(w.code('a', joinTopic('t', { meta: 'é'.repeat(129) }))).toBe(-11018)
    w.ok('a', joinTopic('t', { meta: 'x'.repeat(256) }))
  })

  it('an invalid topic name is -11008', () => {
    const w = stage()
    expect(w.code('a', joinTopic(''))).toBe(-11008)
    expect(w.code('a', subscribe('x'.repeat(65)))).toBe(-11008)
  })

  it(`at most ${MAX_JOINED_TOPICS} joined topics per channel (-11014); leaving one frees a place`, () => {
    const w = stage()
    for (let i = 0; i < MAX_JOINED_TOPICS; i++) w.ok('a', joinTopic(`t${i}`))
    expect(w.code('a', joinTopic('t9'))).toBe(-11014)
    w.ok('a', joinTopic('t0', { meta: 'again' }))
    w.ok('a', { op: 'leaveTopic', args: { channelName: 'stage', topicName: 't0' } })
    w.ok('a', joinTopic('t9'))
  })

  it(`a channel holds at most ${MAX_TOPICS_PER_CHANNEL} topics (-11015)`, () => {
    const w = new TestWorld()
    const users = Math.ceil(MAX_TOPICS_PER_CHANNEL / MAX_JOINED_TOPICS)
    for (let u = 0; u < users; u++) {
      w.login(`c${u}`, `u${u}`)
      w.ok(`c${u}`, join('stage'))
      for (let t = 0; t < MAX_JOINED_TOPICS; t++) w.ok(`c${u}`, joinTopic(`t${u}-${t}`))
    }
    w.login('x', 'extra')
    w.ok('x', join('stage'))
    expect(w.code('x', joinTopic('new'))).toBe(-11015)
    w.ok('x', joinTopic('t0-0'))
  })

  it('publishing needs the topic joined (-11016); payload over 1 KB is -11010; customType over 32 is -11029', () => {
    const w = stage()
    expect(w.code('a', publish('t', 'x'))).toBe(-11016)
    w.ok('a', joinTopic('t'))
    expect(w.code('a', publish('t', 'x'.repeat(1025)))).toBe(-11010)
    expect(w.code('a', publish('t', new Uint8Array(1025)))).toBe(-11010)
    expect(w.code('a', publish('t', 'x', 'c'.repeat(33)))).toBe(-11029)
    w.ok('a', publish('t', 'x'.repeat(1024), 'c'.repeat(32)))
  })

  it('leaveTopic of a topic not joined is -11016; unsubscribing a topic not subscribed is -11013', () => {
    const w = stage()
    expect(w.code('a', { op: 'leaveTopic', args: { channelName: 'stage', topicName: 't' } })).toBe(-11016)
    expect(w.code('a', unsubscribe('t'))).toBe(-11013)
  })

  it('subscribeTopic is incremental; unknown users fail; an empty list is -11011', () => {
    const w = stage()
    w.login('c', 'carol')
    w.ok('c', join('stage'))
    w.ok('a', joinTopic('t'))
    expect(w.ok('b', subscribe('t', ['alice', 'nobody']))).toMatchObject({ succeedUsers: ['alice'], failedUsers: ['nobody'] })
    // carol is in the channel but not yet publishing: she can be picked ahead of time.
    expect(w.ok('b', subscribe('t', ['carol']))).toMatchObject({ succeedUsers: ['carol'], failedUsers: [] })
    w.ok('c', joinTopic('t'))
    w.ok('a', publish('t', 'from alice'))
    w.ok('c', publish('t', 'from carol'))
    expect(w.events('b', 'message').map((e) => e.message)).toEqual(['from alice', 'from carol'])
    expect(w.code('b', subscribe('t', []))).toBe(-11011)
  })

  it('without users: every publisher, also those who join later; unsubscribing named users stops that', () => {
    const w = stage()
    w.login('c', 'carol')
    w.ok('c', join('stage'))
    w.ok('a', joinTopic('t'))
    expect(w.ok('b', subscribe('t'))).toMatchObject({ succeedUsers: ['alice'], failedUsers: [] })
    w.ok('c', joinTopic('t'))
    w.ok('c', publish('t', 'late joiner'))
    expect(w.events('b', 'message').map((e) => e.message)).toEqual(['late joiner'])
    w.ok('b', unsubscribe('t', ['carol']))
    w.ok('c', publish('t', 'unheard'))
    w.ok('a', publish('t', 'heard'))
    expect(w.events('b', 'message').map((e) => e.message)).toEqual(['late joiner', 'heard'])
    w.ok('b', unsubscribe('t'))
    w.ok('a', publish('t', 'after'))
    expect(w.events('b', 'message')).toHaveLength(2)
  })

  it(`at most ${MAX_PUBLISHERS_PER_SUBSCRIPTION} publishers per subscribed topic: the rest fail; all failing is -11003`, () => {
    const w = stage()
    const names = Array.from({ length: MAX_PUBLISHERS_PER_SUBSCRIPTION + 2 }, (_, i) => `p${i}`)
    for (const name of names) {
      w.login(name, name)
      w.ok(name, join('stage'))
      w.ok(name, joinTopic('t'))
    }
    const result = w.ok('b', subscribe('t', names))
    expect(result.succeedUsers).toHaveLength(MAX_PUBLISHERS_PER_SUBSCRIPTION)
    expect(result.failedUsers).toEqual(names.slice(MAX_PUBLISHERS_PER_SUBSCRIPTION))
    expect(w.code('b', subscribe('t', ['alice']))).toBe(-11003)
  })

  it(`at most ${MAX_SUBSCRIBED_TOPICS} subscribed topics per channel (-11014)`, () => {
    const w = stage()
    for (let i = 0; i < MAX_SUBSCRIBED_TOPICS; i++) w.ok('b', subscribe(`t${i}`))
    expect(w.code('b', subscribe('one-more'))).toBe(-11014)
    w.ok('b', subscribe('t0'))
  })

  it('joinTopic announces REMOTE_JOIN with meta to the other members; leaveTopic REMOTE_LEAVE', () => {
    const w = stage()
    w.ok('a', joinTopic('video', { meta: 'cam' }))
    w.ok('a', { op: 'leaveTopic', args: { channelName: 'stage', topicName: 'video' } })
    const events = w.events('b', 'topic')
    expect(events.map((e) => [e.eventType, e.publisher])).toEqual([[2, 'alice'], [3, 'alice']])
    expect(events[0].topicInfos).toEqual([{ topicName: 'video', publishers: [{ publisherUserId: 'alice', publisherMeta: 'cam' }], totalPublisher: 1 }])
    expect(w.events('a', 'topic')).toEqual([])
  })

  it('seq grows per publisher and never repeats after leaving and joining the topic again', () => {
    const w = stage()
    w.ok('a', joinTopic('t', { qos: 1 }))
    w.ok('b', subscribe('t', ['alice']))
    w.ok('a', publish('t', '1'))
    w.ok('a', { op: 'leaveTopic', args: { channelName: 'stage', topicName: 't' } })
    w.ok('a', joinTopic('t', { qos: 1 }))
    w.ok('a', publish('t', '2'))
    const seqs = w.events('b', 'message').map((e) => e.seq!)
    expect(seqs).toHaveLength(2)
    expect(seqs[1]).toBeGreaterThan(seqs[0])
  })

  it('on an ordered topic, an older request id (a resend whose reply was forgotten) is acknowledged, not delivered again', () => {
    const w = stage()
    w.ok('a', joinTopic('t', { qos: 1 }))
    w.ok('b', subscribe('t', ['alice']))
    expect(w.send('a', publish('t', 'first'), 1000)).toMatchObject({ ok: true })
    expect(w.send('a', publish('t', 'second'), 1001)).toMatchObject({ ok: true })
    expect(w.send('a', publish('t', 'stale'), 999)).toMatchObject({ ok: true })
    expect(w.events('b', 'message').map((e) => e.message)).toEqual(['first', 'second'])
  })

  it('a subscriber that resumes after a dropped connection keeps its topics', () => {
    const w = stage()
    w.ok('a', joinTopic('t', { qos: 1 }))
    w.ok('b', subscribe('t', ['alice']))
    w.drop('b')
    w.ok('a', publish('t', 'while away'))
    w.resume('b2', 'bob')
    w.ok('a', publish('t', 'back'))
    expect(w.events('b2', 'message').map((e) => e.message)).toEqual(['back'])
  })

  it('a session that times out leaves its topics (REMOTE_LEAVE to the others)', () => {
    const w = stage()
    w.ok('a', joinTopic('t'))
    w.clear('b')
    w.drop('a')
    w.advance(300_000)
    expect(w.events('b', 'topic').map((e) => [e.eventType, e.publisher])).toEqual([[3, 'alice']])
    expect(w.coordinator.app('app')?.streams.isEmpty).toBe(true)
  })
})
