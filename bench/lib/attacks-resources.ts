import { round } from './report'
import { JsonWs } from './json-ws'
import { NativeClient, SioClient } from './raw-client'
import { sleep } from './relay-child'
import { SECRET, openMany, refusal, tally, token, type AttackContext, type AttackSpec } from './attack-kit'

/** Findings 3 (PeerJS broker), 4 (slow readers) and 5 (missing limits) of issue 11. */

const APP = 'app'
const withSecret = { tokenSecret: SECRET }
/** The relay's memory may not grow past this during an attack: past it the attack stops (the box is shared). */
const RSS_SAFETY_MIB = 4096

function peerUrl(context: AttackContext, id: string, tokenValue = 'x'): string {
  return `${context.wsUrl}/peerjs/peerjs?key=peerjs&id=${encodeURIComponent(id)}&token=${encodeURIComponent(tokenValue)}`
}

/** Opens a PeerJS socket: resolves once the broker says OPEN, rejects with what it said otherwise. */
async function claimPeerId(context: AttackContext, id: string, options: { token?: string; localAddress?: string } = {}): Promise<JsonWs> {
  const ws = await JsonWs.open(peerUrl(context, id, options.token), { localAddress: options.localAddress, timeoutMs: 5000 })
  const first = await ws.next(() => true, 5000)
  if (first?.type === 'OPEN') return ws
  ws.close()
  throw new Error(first ? `${String(first.type)}` : ws.closed ? `close ${ws.closed.code}` : 'timeout')
}

const peerCoordinatorClaim: AttackSpec = {
  id: '3-peer-claim',
  finding: 3,
  title: 'claim PeerJS id "app-coordinator" without a valid token (TOKEN_SECRET)',
  relay: withSecret,
  async run(context) {
    let outcome: string
    try {
      context.track(await claimPeerId(context, `${APP}-coordinator`, { token: 'not-a-jwt' }))
      outcome = 'accepted'
    } catch (error) {
      outcome = `refused (${refusal(error)})`
      context.refuse(refusal(error))
    }
    let control: string
    try {
      context.track(await claimPeerId(context, `${APP}-coordinator2`, { token: await token('coord', APP) }))
      control = 'accepted'
    } catch (error) {
      control = `refused (${refusal(error)})`
    }
    context.note(`control: "app-coordinator2" with a JWT of app "app" → ${control}`)
    return { delivered: `claim without token: ${outcome}` }
  },
}

const peerIdFlood: AttackSpec = {
  id: '3-peer-ids',
  finding: 3,
  title: '5,000 PeerJS ids from one address, then another app\'s claim from another address',
  async run(context) {
    const { opened, attempted } = await openMany(5000, 50, 60_000, 100,
      (i) => claimPeerId(context, `${APP}-p${i}`),
      (error) => context.refuse(refusal(error)))
    opened.forEach((ws) => context.track(ws))
    context.figures.accepted = opened.length
    context.figures.attempted = attempted
    let other: string
    try {
      context.track(await claimPeerId(context, 'other-coordinator', { localAddress: '127.0.0.2' }))
      other = 'accepted'
    } catch (error) {
      other = `refused (${refusal(error)})`
    }
    return { delivered: `${opened.length} of ${attempted} ids accepted; "other-coordinator" from 127.0.0.2: ${other}` }
  },
}

const peerHugeFrame: AttackSpec = {
  id: '3-peer-95mb',
  finding: 3,
  title: 'one 95 MB frame on /peerjs (bystander stall)',
  async run(context) {
    const ws = context.track(await claimPeerId(context, `${APP}-big`))
    const frame = `{"type":"HEARTBEAT","payload":"${'x'.repeat(95 * 1000 * 1000)}"}`
    const started = performance.now()
    const sent = await new Promise<string>((resolve) => ws.sendText(frame, (error) => resolve(error ? `send failed (${error.message})` : 'sent')))
    await Promise.race([ws.closedPromise, sleep(3000)])
    const closed = ws.closed ? `closed ${ws.closed.code} after ${round(performance.now() - started, 0)} ms` : 'connection kept'
    if (ws.closed) context.refuse(`close ${ws.closed.code}`)
    return { delivered: `frame ${sent}; ${closed}` }
  },
}

const peerBadFrames: AttackSpec = {
  id: '3-peer-bad-frames',
  finding: 3,
  title: '100 malformed frames on /peerjs: relay log bytes per frame (LOG_LEVEL=info)',
  relay: { logLevel: 'info' },
  async run(context) {
    const ws = context.track(await claimPeerId(context, `${APP}-bad`))
    await sleep(200)
    const before = context.relay.logBytes
    let sent = 0
    for (; sent < 100 && !ws.closed; sent++) {
      ws.sendText('{not json')
      await sleep(5)
    }
    await sleep(1000)
    const bytes = context.relay.logBytes - before
    if (ws.closed) context.refuse(`close ${ws.closed.code}`)
    context.figures.logBytes = bytes
    return { delivered: `${sent} sent${ws.closed ? ` (closed ${ws.closed.code})` : ''}; ${round(bytes / sent, 0)} log bytes per frame` }
  },
}

const slowSubscriber: AttackSpec = {
  id: '4-slow-subscriber',
  finding: 4,
  title: 'a subscriber that never reads (blind pongs) while 8 publishers send 32 KB × 50/s each for 30 s',
  async run(context) {
    const channelName = 'flood'
    const slow = context.track(await NativeClient.connect(context.url))
    await slow.login(APP, 'slow')
    await slow.request('subscribe', { channelName, withMessage: true })
    const reader = context.track(await NativeClient.connect(context.url, undefined, { localAddress: '127.0.0.3' }))
    await reader.login(APP, 'reader')
    await reader.request('subscribe', { channelName, withMessage: true })
    let readerGot = 0
    reader.onEvt = (event) => { if (event.kind === 'message') readerGot++ }
    slow.sio.pause()
    const heartbeat = setInterval(() => slow.fire('heartbeat', {}), 4000)
    const pausedAt = performance.now()
    let closedAfter: number | null = null
    slow.sio.onClose = () => { closedAfter ??= performance.now() - pausedAt }
    const message = 'x'.repeat(32_000)
    let accepted = 0
    let stoppedForSafety = false
    const publishers = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const client = context.track(await NativeClient.connect(context.url, undefined, { localAddress: '127.0.0.2' }))
      await client.login(APP, `pub${i}`)
      return client
    }))
    const endAt = performance.now() + 30_000
    await Promise.all(publishers.map(async (publisher) => {
      let next = performance.now()
      while (performance.now() < endAt) {
        if ((context.relay.memory()?.rssMiB ?? 0) > RSS_SAFETY_MIB) { stoppedForSafety = true; break }
        void publisher.request('publish', { channelName, channelType: 1, message }, 30_000).then((reply) => { if (tally(context, reply)) accepted++ })
        next += 20
        await sleep(Math.max(0, next - performance.now()))
      }
    }))
    await sleep(1000)
    clearInterval(heartbeat)
    if (stoppedForSafety) context.note(`stopped at the ${RSS_SAFETY_MIB} MiB safety cap`)
    if (closedAfter !== null) context.refuse('slow reader closed')
    context.figures.publishesAccepted = accepted
    return { delivered: `${accepted} publishes accepted; normal reader got ${readerGot}; slow reader ${closedAfter === null ? 'never closed' : `closed after ${round(closedAfter / 1000, 1)} s`}` }
  },
}

const idleCallSockets: AttackSpec = {
  id: '4-clu-renames',
  finding: 4,
  title: '300 idle non-reading /ws/calls sockets + 400 renames from one socket (80/s)',
  async run(context) {
    const url = `${context.wsUrl}/ws/calls`
    const observer = context.track(await JsonWs.open(url, { keep: false }))
    let cluFrames = 0
    let cluBytes = 0
    observer.onMessage = (message, bytes) => { if (message.cmd === 'clu') { cluFrames++; cluBytes += bytes } }
    observer.send({ cmd: 'sId', sId: 'observer' })
    const { opened } = await openMany(300, 20, 60_000, 50, async (i) => {
      // Three client addresses, so a per-address connection cap does not hide the clu traffic.
      const ws = await JsonWs.open(url, { keep: false, localAddress: `127.0.0.${2 + (i % 3)}` })
      const registered = ws.waitFor((m) => m.cmd === 'sId' || m.cmd === 'error', 5000)
      ws.send({ cmd: 'sId', sId: `idle${i}` })
      await registered
      ws.pause()
      return ws
    }, (error) => context.refuse(refusal(error)))
    opened.forEach((ws) => context.track(ws))
    const afterRegistration = { rss: round(context.relay.memory()?.rssMiB ?? NaN, 0), clu: cluFrames }
    cluFrames = 0
    cluBytes = 0
    const renamer = context.track(await JsonWs.open(url, { keep: false, localAddress: '127.0.0.5' }))
    let renameErrors = 0
    renamer.onMessage = (message) => {
      if (message.cmd === 'error') { renameErrors++; context.refuse(`call:${String(message.code)}`) }
    }
    let next = performance.now()
    for (let i = 0; i < 400 && (context.relay.memory()?.rssMiB ?? 0) < RSS_SAFETY_MIB; i++) {
      renamer.send({ cmd: 'sId', sId: `rename${i}` })
      next += 1000 / 80
      await sleep(Math.max(0, next - performance.now()))
    }
    // The relay works through the renames after they were sent: wait until the observer's clu stop coming.
    const sentAt = performance.now()
    let seen = -1
    while (seen !== cluFrames && performance.now() - sentAt < 60_000 && !observer.closed) {
      seen = cluFrames
      await sleep(2000)
    }
    context.note(`clu kept coming for ${round((performance.now() - sentAt) / 1000 - 2, 1)} s after the last rename`)
    context.figures.afterRegistration = afterRegistration
    context.note(`${opened.length} idle sockets; RSS after their registration ${afterRegistration.rss} MiB (observer saw ${afterRegistration.clu} clu)`)
    const sockets = opened.length + 2
    context.figures.cluFramesSentEstimate = cluFrames * sockets
    return { delivered: `observer got ${cluFrames} clu (${round(cluBytes / 2 ** 20, 1)} MiB) for 400 renames: ≈${(cluFrames * sockets).toLocaleString('en-US')} clu, ≈${round((cluBytes * sockets) / 2 ** 20, 0)} MiB to ${sockets} sockets; ${renameErrors} renames refused` }
  },
}

const presenceResubscribe: AttackSpec = {
  id: '4-resubscribe',
  finding: 4,
  title: '50 re-subscribes with presence to a channel of 200 members with ~8 KB state each',
  async run(context) {
    const channelName = 'busy'
    const state = { blob: 's'.repeat(7900) }
    const { opened } = await openMany(200, 20, 60_000, 20, async (i) => {
      const member = await NativeClient.connect(context.url, undefined, { localAddress: `127.0.0.${2 + (i % 2)}` })
      await member.login(APP, `member${i}`)
      await member.request('subscribe', { channelName, withMessage: false, withPresence: false })
      const set = await member.request('setState', { channelName, channelType: 1, states: state })
      if (!set.ok) context.note(`setState: ${set.error?.errorCode}`)
      return member
    }, (error) => context.refuse(refusal(error)))
    opened.forEach((member) => context.track(member))
    const attacker = context.track(await NativeClient.connect(context.url))
    await attacker.login(APP, 'mallory')
    await attacker.request('subscribe', { channelName, withMessage: false, withPresence: true })
    await sleep(500)
    const before = attacker.sio.bytesIn
    const replies = await Promise.all(Array.from({ length: 50 }, () =>
      attacker.request('subscribe', { channelName, withMessage: false, withPresence: true }, 30_000)))
    const accepted = replies.filter((reply) => tally(context, reply)).length
    await sleep(1000)
    const bytes = attacker.sio.bytesIn - before
    context.figures.bytes = bytes
    const lost = replies.filter((reply) => reply.error?.name === 'CLOSED').length
    if (lost) {
      context.refuse('attacker closed')
      context.note(`the relay closed the attacker's connection (${attacker.sio.closeReason}); ${lost} replies lost with it`)
    }
    return { delivered: `${accepted}/50 accepted; ${round(bytes / 2 ** 20, 1)} MiB sent to the attacker` }
  },
}

const publishRate: AttackSpec = {
  id: '5-publish-rate',
  finding: 5,
  title: 'publishes from one client as fast as it can for 5 s (256 in flight)',
  async run(context) {
    const client = context.track(await NativeClient.connect(context.url))
    await client.login(APP, 'mallory')
    let accepted = 0
    const endAt = performance.now() + 5000
    const started = performance.now()
    await Promise.all(Array.from({ length: 256 }, async () => {
      while (performance.now() < endAt && !client.closed) {
        const reply = await client.request('publish', { channelName: 'p', channelType: 1, message: 'm' }, 10_000)
        if (tally(context, reply)) accepted++
      }
    }))
    const seconds = (performance.now() - started) / 1000
    return { delivered: `${Math.round(accepted / seconds).toLocaleString('en-US')} publishes/s accepted (${accepted} in ${round(seconds, 1)} s)` }
  },
}

const lockDefinitions: AttackSpec = {
  id: '5-lock-definitions',
  finding: 5,
  title: 'lock definitions from one client for 15 s (64 in flight); bystander p99',
  async run(context) {
    const client = context.track(await NativeClient.connect(context.url))
    await client.login(APP, 'mallory')
    let created = 0
    let next = 0
    const endAt = performance.now() + 15_000
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (performance.now() < endAt && !client.closed) {
        const i = next++
        // 64 locks per channel is the seed's own limit: spread over channels.
        const reply = await client.request('setLock', { channelName: `c${Math.floor(i / 64)}`, channelType: 1, lockName: `l${i % 64}`, ttl: 60 }, 30_000)
        if (tally(context, reply)) created++
      }
    }))
    return { delivered: `${created.toLocaleString('en-US')} lock definitions created in 15 s` }
  },
}

const metadataQuota: AttackSpec = {
  id: '5-metadata-quota',
  finding: 5,
  title: '30 users write 8 KiB metadata items at the seed\'s 10/s each for 15 s (store growth)',
  async run(context) {
    const value = 'v'.repeat(8000)
    const before = context.relay.storeBytes()
    let written = 0
    const endAt = performance.now() + 15_000
    await Promise.all(Array.from({ length: 30 }, async (_, u) => {
      const client = context.track(await NativeClient.connect(context.url))
      await client.login(APP, `writer${u}`)
      let next = performance.now()
      for (let i = 0; performance.now() < endAt && !client.closed; i++) {
        // 7 items of 8 KiB per channel stay within the seed's 64 KiB per set: a new channel every 7 writes.
        const reply = await client.request('setChannelMetadata', {
          channelName: `meta-${u}-${Math.floor(i / 7)}`, channelType: 1, items: [{ key: `k${i % 7}`, value }],
        })
        if (tally(context, reply)) written++
        // Under 10/s, the seed's storage rate per user; a late reply does not make the next ones burst.
        next = Math.max(next + 110, performance.now())
        await sleep(Math.max(0, next - performance.now()))
      }
    }))
    const grown = context.relay.storeBytes() - before
    context.figures.storeGrowthBytes = grown
    return { delivered: `${written.toLocaleString('en-US')} items (${round((written * 8000) / 2 ** 20, 1)} MiB) accepted; store grew ${round(grown / 2 ** 20, 1)} MiB` }
  },
}

const connectionsPerAddress: AttackSpec = {
  id: '5-connections',
  finding: 5,
  title: 'socket.io connections from one address (at most 1,000 attempts)',
  async run(context) {
    const { opened, attempted } = await openMany(1000, 50, 60_000, 100,
      () => SioClient.connect(context.url, { timeoutMs: 5000 }),
      (error) => context.refuse(refusal(error)))
    opened.forEach((socket) => context.track(socket))
    await sleep(500)
    const stillOpen = opened.filter((socket) => !socket.closed).length
    return { delivered: `${opened.length} of ${attempted} accepted (${stillOpen} still open 0.5 s later)` }
  },
}

const neverLogsIn: AttackSpec = {
  id: '5-login-deadline',
  finding: 5,
  title: 'a socket.io and an /easyrtc connection that never log in (waited up to 15 s)',
  async run(context) {
    const started = performance.now()
    const native = context.track(await SioClient.connect(context.url))
    const easyrtc = context.track(await SioClient.connect(context.url, { nsp: '/easyrtc' }))
    const closedAt: Record<string, number | null> = { native: null, easyrtc: null }
    native.onClose = () => { closedAt.native = performance.now() - started }
    easyrtc.onClose = () => { closedAt.easyrtc = performance.now() - started }
    while (performance.now() - started < 15_000 && (closedAt.native === null || closedAt.easyrtc === null)) await sleep(50)
    const show = (ms: number | null) => (ms === null ? 'open at 15 s' : `closed after ${round(ms / 1000, 1)} s`)
    for (const ms of Object.values(closedAt)) if (ms !== null) context.refuse('closed (login deadline)')
    return { delivered: `native ${show(closedAt.native)}; easyrtc ${show(closedAt.easyrtc)}` }
  },
}

export const RESOURCE_ATTACKS: AttackSpec[] = [
  peerCoordinatorClaim, peerIdFlood, peerHugeFrame, peerBadFrames,
  slowSubscriber, idleCallSockets, presenceResubscribe,
  publishRate, lockDefinitions, metadataQuota, connectionsPerAddress, neverLogsIn,
]
