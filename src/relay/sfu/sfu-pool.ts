import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ConnId } from '../../engine/effects'
import type { SfuSeat } from '../../engine/room-model'
import type { SfuPort } from '../../host/coordinator-host'
import type { ServerEvent } from '../../protocol/events'
import type { PeerSignalName, RoomMember } from '../../protocol/room-codes'
import { LOAD_REPORT_INTERVAL_MS, type FromWorker, type SfuSignal, type ToWorker, type WorkerFigures } from './sfu-ipc'

export interface SfuPoolOptions {
  /** Worker processes (one room lives on one worker). */
  workers: number
  /** A worker whose event loop lagged more than this (p99, in each of its last two reports) takes no new members: "Server overload". */
  lagBudgetMs: number
  /** Receive connections each worker keeps offered in advance, so that a JOIN is answered at once. */
  prepared?: number
  /** How long a JOIN waits for a receive connection before it is refused (a starting worker gets STARTING_WORKER_MS). */
  readyTimeoutMs?: number
  /** Extra environment of the workers (SFU_ANNOUNCED_ADDRESS, SFU_UDP_PORTS, SFU_INTERFACE_ADDRESS). */
  env?: Record<string, string>
  /** A signal from the SFU to one member (the host hands it to the engine). */
  onSignal(appId: string, rid: string, to: string, signal: { s: PeerSignalName } & Record<string, unknown>): void
  log?: (message: string) => void
}

const SEAT_PREFIX = 'sfu:'
const DEFAULT_PREPARED = 4
const DEFAULT_READY_TIMEOUT_MS = 5_000
/** A worker's start (tsx, werift, its first offers) took 2 s on an idle 2-core box and over 5 s on a busy one. */
const STARTING_WORKER_MS = 15_000
/** A worker silent for this many report intervals is stuck (or stopped): it takes no new members. */
const SILENT_REPORTS = 4
const NO_FIGURES: WorkerFigures = {
  lagP99Ms: 0, lagMaxMs: 0, rooms: 0, members: 0, connections: 0, prepared: 0, forwardedPackets: 0, keyframeRequests: 0, rssBytes: 0, heapUsedBytes: 0, cpuUserUs: 0, cpuSystemUs: 0,
}
const WORKER_ENTRY = fileURLToPath(new URL('./sfu-worker.ts', import.meta.url))

/** One worker process and what the pool knows of it. */
interface Worker {
  child: ChildProcess
  /** Receive connections offered in advance, oldest first. */
  prepared: { pc: string; sdp: string }[]
  /** Asked for and not yet `prepared`. */
  preparing: number
  figures: WorkerFigures | null
  /** The report before: overload is a lag over budget in both (a second), not one spike (a burst of new connections). */
  previousFigures: WorkerFigures | null
  /** When it last said anything (Date.now()); it reports figures every LOAD_REPORT_INTERVAL_MS, so silence means stuck or stopped. */
  reportedAt: number | null
  rooms: Set<string>
  /** Waiting JOINs: called when an offer arrives. */
  waiters: Set<() => void>
  askedFigures: Map<number, (figures: WorkerFigures) => void>
}

/**
 * The relay's forwarding units (issue 19): worker processes running werift (sfu-worker.ts),
 * started when the first SFU room needs one, so a relay without SFU rooms pays nothing. A
 * room is placed on the least loaded worker and stays there; each worker keeps a few receive
 * connections offered in advance, which is what lets the engine answer a JOIN with
 * `es.sdps` synchronously. Forwarding load lives in the workers, never on the coordinator's
 * event loop; a worker whose loop lags past the budget refuses new members.
 */
export class SfuPool implements SfuPort {
  private workers: Worker[] = []
  private readonly roomWorker = new Map<string, Worker>()
  private nextFigures = 1
  private closed = false

  constructor(private readonly options: SfuPoolOptions) {}

  seat(appId: string): SfuSeat {
    return { conn: SEAT_PREFIX + appId, offer: (rid, sessionId) => this.offer(appId, rid, sessionId) }
  }

  owns(conn: ConnId): boolean {
    return conn.startsWith(SEAT_PREFIX)
  }

  ready(appId: string, rid: string): Promise<void> | null {
    if (this.closed) return null // the JOIN is refused at once
    const worker = this.workerFor(roomKey(appId, rid))
    // A stuck worker's refusal goes out at once, rather than after the wait.
    if (worker.prepared.length > 0 || this.silence(worker) !== null) return null
    this.topUp(worker)
    const deadline = Date.now() + (worker.reportedAt === null ? STARTING_WORKER_MS : this.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS)
    return new Promise<void>((resolve) => {
      const done = () => {
        clearInterval(timer)
        worker.waiters.delete(done)
        resolve()
      }
      // Until an offer comes (`done` is a waiter), the wait runs out, or the worker falls silent (its refusal then goes out).
      const timer = setInterval(() => { if (Date.now() > deadline || this.silence(worker) !== null) done() }, LOAD_REPORT_INTERVAL_MS / 2)
      worker.waiters.add(done)
    })
  }

  deliver(conn: ConnId, event: ServerEvent): void {
    if (event.kind !== 'room') return
    const appId = conn.slice(SEAT_PREFIX.length)
    const msg = event.msg as { s: string; rid?: unknown; b?: { pps?: RoomMember[]; rid?: string }; ss?: { sessionId?: string } }
    if (msg.s === 'PUBLISH_LIST_CHANGED' && msg.b?.pps && typeof msg.b.rid === 'string') {
      const key = roomKey(appId, msg.b.rid)
      const worker = this.roomWorker.get(key)
      if (!worker) return
      const members = msg.b.pps.map(({ sessionId, publish, video, audio }) => ({ sessionId, publish, video, audio }))
      send(worker, { t: 'members', room: key, members })
      if (members.length === 0) {
        this.roomWorker.delete(key)
        worker.rooms.delete(key)
      }
      return
    }
    if (typeof msg.rid !== 'string' || typeof msg.ss?.sessionId !== 'string') return
    const key = roomKey(appId, msg.rid)
    const worker = this.roomWorker.get(key)
    if (worker) send(worker, { t: 'signal', room: key, from: msg.ss.sessionId, signal: msg as SfuSignal })
  }

  /** Each running worker's latest figures (for /healthz and the bench). */
  figures(): (WorkerFigures & { pid: number | undefined })[] {
    return this.workers.filter((worker) => worker.figures).map((worker) => ({ pid: worker.child.pid, ...worker.figures! }))
  }

  /** Fresh figures from every worker. */
  async measure(): Promise<WorkerFigures[]> {
    return Promise.all(this.workers.map((worker) => new Promise<WorkerFigures>((resolve) => {
      const id = this.nextFigures++
      worker.askedFigures.set(id, resolve)
      send(worker, { t: 'figures', id })
    })))
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.workers.map(async (worker) => {
      for (const wake of worker.waiters) wake()
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => worker.child.once('exit', () => resolve()))
      worker.child.kill()
      await exited
    }))
    this.workers = []
  }

  private offer(appId: string, rid: string, sessionId: string): { sdp: string } | { refused: string } {
    const key = roomKey(appId, rid)
    const worker = this.workerFor(key)
    const silentMs = this.silence(worker)
    if (silentMs !== null) return { refused: `Server overload: the media server has not answered for ${silentMs} ms; try again later` }
    const lag = Math.min(worker.figures?.lagP99Ms ?? 0, worker.previousFigures?.lagP99Ms ?? 0)
    if (lag > this.options.lagBudgetMs) {
      return { refused: `Server overload: the media server is busy (event loop ${Math.round(lag)} ms behind, budget ${this.options.lagBudgetMs} ms); try again later` }
    }
    const prepared = worker.prepared.shift()
    this.topUp(worker)
    if (!prepared) return { refused: 'Server overload: the media server has no connection ready; try again later' }
    this.roomWorker.set(key, worker)
    worker.rooms.add(key)
    send(worker, { t: 'bind', pc: prepared.pc, room: key, sessionId })
    return { sdp: prepared.sdp }
  }

  /** How long a worker has been silent, when that is longer than it may be (stuck or stopped); else null (a starting worker is not silent). */
  private silence(worker: Worker): number | null {
    if (worker.reportedAt === null) return null
    const silentMs = Date.now() - worker.reportedAt
    return silentMs > SILENT_REPORTS * LOAD_REPORT_INTERVAL_MS ? silentMs : null
  }

  /** The room's worker, or the one it would be placed on: fewest rooms, workers started as needed. */
  private workerFor(key: string): Worker {
    const placed = this.roomWorker.get(key)
    if (placed) return placed
    while (this.workers.length < Math.max(1, this.options.workers)) this.workers.push(this.start())
    return this.workers.reduce((best, each) => (each.rooms.size < best.rooms.size ? each : best))
  }

  private topUp(worker: Worker): void {
    const want = (this.options.prepared ?? DEFAULT_PREPARED) - worker.prepared.length - worker.preparing
    if (want <= 0) return
    worker.preparing += want
    send(worker, { t: 'prepare', count: want })
  }

  private start(): Worker {
    const child = fork(WORKER_ENTRY, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const worker: Worker = { child, prepared: [], preparing: 0, figures: null, previousFigures: null, reportedAt: null, rooms: new Set(), waiters: new Set(), askedFigures: new Map() }
    child.on('message', (message: FromWorker) => this.received(worker, message))
    child.on('error', (error) => this.options.log?.(`sfu worker: ${error.message}`))
    child.on('exit', (code, signal) => {
      // Its rooms' media is gone; their members keep the signaling and may rejoin. The next SFU room starts a new worker.
      this.workers = this.workers.filter((each) => each !== worker)
      for (const key of worker.rooms) this.roomWorker.delete(key)
      for (const wake of worker.waiters) wake()
      // Figures asked of it will not come: its last ones answer (a measure() never hangs on a dead worker).
      for (const answer of worker.askedFigures.values()) answer(worker.figures ?? NO_FIGURES)
      worker.askedFigures.clear()
      if (!this.closed) this.options.log?.(`sfu worker ${child.pid} exited (${signal ?? code}); ${worker.rooms.size} rooms lost their media`)
    })
    this.topUp(worker)
    return worker
  }

  private received(worker: Worker, message: FromWorker): void {
    worker.reportedAt = Date.now()
    switch (message.t) {
      case 'ready':
        return
      case 'prepared':
        worker.preparing = Math.max(0, worker.preparing - 1)
        worker.prepared.push({ pc: message.pc, sdp: message.sdp })
        // One waiting JOIN per offer: waking them all would leave the later ones none.
        worker.waiters.values().next().value?.()
        return
      case 'unprepared':
        // Not counted as coming any more, or the pool would never ask for it again.
        worker.preparing = Math.max(0, worker.preparing - 1)
        this.options.log?.(`sfu worker ${worker.child.pid}: a receive connection could not be prepared: ${message.reason}`)
        return
      case 'signal': {
        const [appId, rid] = splitKey(message.room)
        this.options.onSignal(appId, rid, message.to, message.signal)
        return
      }
      case 'figures':
        if (message.id === undefined) worker.previousFigures = worker.figures
        worker.figures = message.figures
        if (message.id !== undefined) {
          worker.askedFigures.get(message.id)?.(message.figures)
          worker.askedFigures.delete(message.id)
        }
    }
  }
}

function send(worker: Worker, message: ToWorker): void {
  if (worker.child.connected) worker.child.send(message)
}

function roomKey(appId: string, rid: string): string {
  return `${appId}\u0000${rid}`
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf('\u0000')
  return [key.slice(0, at), key.slice(at + 1)]
}
