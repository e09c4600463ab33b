import { RTM } from '../../src/sdk'
import { RENEW_MS } from '../../src/relay/cluster/partition-lease'
import { partitionOfApp } from '../../src/relay/cluster/redis-keys'
import { ClusterStack, type ClusterRelay } from './cluster-stack'
import { sleep, withTimeout } from './relay-child'
import { percentile, round } from './report'

/** While nothing was served yet, another write is sent this often (the SDK resends the earlier ones itself after its reconnect). */
const PROBE_EVERY_MS = 100
/** A kill whose clients are not all served within this is a failure of the round. */
const FAILOVER_LIMIT_MS = 30_000
const LOGIN_TIMEOUT_MS = 15_000

/** One client's view of one kill: from the SIGKILL to its first write answered. */
export interface FailoverSample {
  kill: number
  /** The killed process (the app's owner). */
  killed: string
  /** The process the client was connected through before the kill. */
  gateway: string
  /** The client's own connection went with the owner (its gateway was the killed process). */
  gatewayKilled: boolean
  /** SIGKILL → the first `setUserMetadata` answered. */
  servedMs: number
  /** SIGKILL → the client saw its link drop (DISCONNECTED). */
  droppedMs: number
  /** SIGKILL → the client was CONNECTED again (after the login at the new owner). */
  reconnectedMs: number
  /** The owner after the failover, from the login reply's `servedBy`. */
  newOwner: string
}

export interface FailoverResult {
  relays: number
  kills: number
  clientsPerKill: number
  samples: FailoverSample[]
  /** The owner's lease time left at the kill (PTTL of its key): the part of a failover nobody can shorten but by a shorter lease. */
  leaseLeftMs: { p50: number; max: number }
  all: Stats
  gatewaySurvived: Stats
  gatewayKilled: Stats
  /** p50 of kill → link dropped, and of link dropped → served, over every sample. */
  droppedP50Ms: number
  dropToServedP50Ms: number
}

interface Stats { count: number; p50: number; max: number }

function stats(values: number[]): Stats {
  return { count: values.length, p50: round(percentile(values, 50), 0), max: values.length ? round(Math.max(...values), 0) : NaN }
}

/** The login reply's `servedBy` (scaled mode) as the client sees it, from its frame trace. */
function traceServedBy(rtm: RTM): { current: { gateway: string; owner: string } | null } {
  const seen: { current: { gateway: string; owner: string } | null } = { current: null }
  rtm.addEventListener('frame', ({ direction, frame }) => {
    const reply = frame as { t?: string; ok?: boolean; result?: { servedBy?: { gateway?: unknown; owner?: unknown } } }
    const servedBy = reply.result?.servedBy
    if (direction === 'in' && reply.t === 'res' && reply.ok && servedBy && typeof servedBy.gateway === 'string' && typeof servedBy.owner === 'string') {
      seen.current = { gateway: servedBy.gateway, owner: servedBy.owner }
    }
  })
  return seen
}

/**
 * `kills` rounds against a stack of `relays` processes: an app is made to be owned by the
 * round's victim (a client logs in to it directly first), `clientsPerKill` SDK clients log in
 * through the balancer (round robin: most land on other processes, one on the victim), the
 * victim gets SIGKILL, and each client sends `setUserMetadata` until one is answered. Then a
 * fresh process takes the victim's place behind a restarted balancer, so every kill meets
 * `relays` processes.
 */
export async function measureFailover(options: { relays: number; kills: number; clientsPerKill?: number }, log: (line: string) => void = () => {}): Promise<FailoverResult> {
  const clientsPerKill = options.clientsPerKill ?? options.relays
  const stack = await ClusterStack.start(options.relays, 'failover')
  const samples: FailoverSample[] = []
  const leaseLeft: number[] = []
  try {
    for (let kill = 0; kill < options.kills; kill++) {
      const victim = stack.relays[kill % stack.relays.length]
      const round = await killOwner(stack, victim, kill, clientsPerKill)
      samples.push(...round.samples)
      leaseLeft.push(round.leaseLeftMs)
      const worst = Math.max(...round.samples.map((s) => s.servedMs))
      log(`failover ${kill + 1}/${options.kills}: killed ${victim.name} (lease left ${round.leaseLeftMs} ms), clients served after ${round.samples.map((s) => `${round0(s.servedMs)}${s.gatewayKilled ? '*' : ''}`).join(', ')} ms (worst ${round0(worst)})`)
      await stack.replace(victim)
    }
  } finally {
    await stack.stop()
  }
  const served = samples.map((s) => s.servedMs)
  return {
    relays: options.relays, kills: options.kills, clientsPerKill, samples,
    leaseLeftMs: { p50: round(percentile(leaseLeft, 50), 0), max: round(Math.max(...leaseLeft), 0) },
    all: stats(served),
    gatewaySurvived: stats(samples.filter((s) => !s.gatewayKilled).map((s) => s.servedMs)),
    gatewayKilled: stats(samples.filter((s) => s.gatewayKilled).map((s) => s.servedMs)),
    droppedP50Ms: round(percentile(samples.map((s) => s.droppedMs).filter(Number.isFinite), 50), 0),
    dropToServedP50Ms: round(percentile(samples.map((s) => s.servedMs - s.droppedMs).filter(Number.isFinite), 50), 0),
  }
}

function round0(ms: number): string {
  return String(Math.round(ms))
}

async function killOwner(stack: ClusterStack, victim: ClusterRelay, kill: number, clientsPerKill: number): Promise<{ samples: FailoverSample[]; leaseLeftMs: number }> {
  const appId = `failover${kill}`
  const clients: RTM[] = []
  try {
    // The first login to an app makes its gateway the owner: log in straight at the victim.
    const anchor = new RTM(appId, 'anchor', { url: victim.child.url })
    clients.push(anchor)
    await withTimeout(anchor.login(), LOGIN_TIMEOUT_MS, `login at ${victim.name}`)
    const owned = (await stack.health()).find((health) => health?.process === victim.name)?.partitions ?? []
    if (!owned.includes(partitionOfApp(appId))) throw new Error(`${victim.name} does not own ${appId} after the first login (owns ${owned.join(', ')})`)

    const users = await Promise.all(Array.from({ length: clientsPerKill }, async (_, c) => {
      const rtm = new RTM(appId, `user${c}`, { url: stack.url })
      clients.push(rtm)
      const servedBy = traceServedBy(rtm)
      await withTimeout(rtm.login(), LOGIN_TIMEOUT_MS, `login of user${c} through the balancer`)
      await rtm.storage.setUserMetadata([{ key: 'round', value: `${kill}` }])
      if (servedBy.current?.owner !== victim.name) throw new Error(`user${c} is served by ${JSON.stringify(servedBy.current)}, expected owner ${victim.name}`)
      return { rtm, servedBy, gateway: servedBy.current.gateway }
    }))
    anchor.release() // it only made the victim the owner; its link would die with it

    const leaseKey = `${stack.prefix}lease:${partitionOfApp(appId)}`
    // Each round runs the same steps from the victim's start, so without this every kill would
    // meet its lease at the same point of the renewal cycle (RENEW_MS) instead of anywhere in it.
    await sleep(Math.random() * RENEW_MS)
    const killedAt = performance.now()
    const killed = stack.kill(victim)
    const leaseLeftMs = await stack.leaseTtl(leaseKey)
    const samples = await Promise.all(users.map(({ rtm, servedBy, gateway }, c) => firstServed(rtm, c, kill, killedAt).then((times) => ({
      kill, killed: victim.name, gateway, gatewayKilled: gateway === victim.name, ...times, newOwner: servedBy.current?.owner ?? '',
    }))))
    await killed
    for (const sample of samples) {
      if (sample.newOwner === victim.name || !sample.newOwner) throw new Error(`after the kill of ${victim.name}, a client is served by owner "${sample.newOwner}"`)
    }
    return { samples, leaseLeftMs }
  } finally {
    for (const rtm of clients) rtm.release()
  }
}

/** Sends a write every PROBE_EVERY_MS until one is answered; times from the kill. */
async function firstServed(rtm: RTM, client: number, kill: number, killedAt: number): Promise<{ servedMs: number; droppedMs: number; reconnectedMs: number }> {
  let droppedMs = NaN
  let reconnectedMs = NaN
  rtm.addEventListener('linkState', (event) => {
    if (event.currentState === 'DISCONNECTED' && Number.isNaN(droppedMs)) droppedMs = performance.now() - killedAt
    if (event.currentState === 'CONNECTED' && Number.isNaN(reconnectedMs)) reconnectedMs = performance.now() - killedAt
  })
  let servedMs = NaN
  let sent = 0
  const deadline = killedAt + FAILOVER_LIMIT_MS
  while (Number.isNaN(servedMs) && performance.now() < deadline) {
    const value = `${kill}.${sent++}`
    rtm.storage.setUserMetadata([{ key: 'round', value }]).then(() => {
      if (Number.isNaN(servedMs)) servedMs = performance.now() - killedAt
    }, () => undefined) // unanswered (timeout while the owner was gone): a later probe counts
    // The answer is timed where it arrives; this only decides when to send the next probe.
    for (const next = performance.now() + PROBE_EVERY_MS; Number.isNaN(servedMs) && performance.now() < next;) await sleep(5)
  }
  if (Number.isNaN(servedMs)) throw new Error(`user${client}: no write answered within ${FAILOVER_LIMIT_MS} ms of the kill`)
  return { servedMs, droppedMs, reconnectedMs }
}
