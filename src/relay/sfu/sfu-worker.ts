import { monitorEventLoopDelay } from 'node:perf_hooks'
import { LOAD_REPORT_INTERVAL_MS, type FromWorker, type ToWorker, type WorkerFigures } from './sfu-ipc'
import type { SfuContext, SfuCounters } from './counters'
import { peerOptionsFromEnv, type PeerOptions } from './peer-config'
import { ReceiveConnection } from './receive-connection'
import { SfuRoom } from './sfu-room'

/**
 * One SFU worker process (forked by the relay's sfu-pool.ts): rooms, their members' peer
 * connections and the forwarding between them; it talks to the relay over Node's IPC channel
 * only (sfu-ipc.ts). Options come from the environment: SFU_ANNOUNCED_ADDRESS,
 * SFU_UDP_PORTS ("min-max"), SFU_INTERFACE_ADDRESS.
 */

/** Slots, layers, keyframe retries and bitrate caps are re-evaluated this often. */
export const ROOM_TICK_MS = 250

export class SfuWorker {
  readonly #options: PeerOptions
  readonly #send: (message: FromWorker) => void
  readonly #prepared = new Map<string, ReceiveConnection>()
  readonly #rooms = new Map<string, SfuRoom>()
  readonly #counters: SfuCounters = { forwardedPackets: 0, keyframeRequests: 0 }
  readonly #context: SfuContext
  readonly #lag = monitorEventLoopDelay({ resolution: 10 })
  readonly #timers: NodeJS.Timeout[]
  #nextPc = 0

  constructor(options: PeerOptions, send: (message: FromWorker) => void) {
    this.#options = options
    this.#send = send
    this.#context = {
      counters: this.#counters,
      now: () => performance.now(),
      log: (message) => process.stderr.write(`sfu-worker ${process.pid}: ${message}\n`),
    }
    this.#lag.enable()
    this.#timers = [
      setInterval(() => this.#tick(), ROOM_TICK_MS),
      setInterval(() => this.#send({ t: 'figures', figures: this.figures() }), LOAD_REPORT_INTERVAL_MS),
    ]
    this.#send({ t: 'ready' })
  }

  handle(message: ToWorker): void {
    switch (message.t) {
      case 'prepare':
        for (let i = 0; i < message.count; i++) void this.#prepare()
        return
      case 'bind': {
        const connection = this.#prepared.get(message.pc)
        if (!connection) return this.#context.log(`bind of unknown receive connection ${message.pc}`)
        this.#prepared.delete(message.pc)
        this.#room(message.room).bind(message.sessionId, connection)
        return
      }
      case 'members': {
        if (message.members.length === 0) {
          this.#rooms.get(message.room)?.close()
          this.#rooms.delete(message.room)
          return
        }
        this.#room(message.room).setMembers(message.members)
        return
      }
      case 'signal': {
        const room = this.#rooms.get(message.room)
        if (!room) return this.#context.log(`signal for unknown room; dropped`)
        room.signal(message.from, message.signal).catch((error: unknown) => this.#context.log(`signal failed: ${String(error)}`))
        return
      }
      case 'figures':
        // A worker started with --expose-gc (tests) collects first, so heap figures compare.
        if (typeof globalThis.gc === 'function') globalThis.gc()
        this.#send({ t: 'figures', id: message.id, figures: this.figures() })
        return
      default: {
        const never: never = message
        this.#context.log(`unknown message ${JSON.stringify(never).slice(0, 100)}`)
      }
    }
  }

  async #prepare(): Promise<void> {
    const id = `rx${++this.#nextPc}`
    try {
      const { connection, sdp } = await ReceiveConnection.prepare(this.#options, this.#context)
      this.#prepared.set(id, connection)
      this.#send({ t: 'prepared', pc: id, sdp })
    } catch (error) {
      this.#context.log(`preparing a receive connection failed: ${String(error)}`)
      this.#send({ t: 'unprepared', reason: String(error).slice(0, 200) })
    }
  }

  #room(id: string): SfuRoom {
    let room = this.#rooms.get(id)
    if (!room) {
      room = new SfuRoom(this.#options, this.#context, { signal: (to, signal) => this.#send({ t: 'signal', room: id, to, signal }) })
      this.#rooms.set(id, room)
    }
    return room
  }

  #tick(): void {
    for (const room of this.#rooms.values()) {
      try {
        room.tick()
      } catch (error) {
        this.#context.log(`room tick failed: ${error instanceof Error ? error.stack : String(error)}`)
      }
    }
  }

  figures(): WorkerFigures {
    let members = 0
    let connections = this.#prepared.size
    for (const room of this.#rooms.values()) {
      members += room.memberCount
      connections += room.connectionCount
    }
    const memory = process.memoryUsage()
    const cpu = process.cpuUsage()
    const figures: WorkerFigures = {
      lagP99Ms: this.#lag.percentile(99) / 1e6,
      lagMaxMs: this.#lag.max / 1e6,
      rooms: this.#rooms.size,
      members,
      connections,
      prepared: this.#prepared.size,
      forwardedPackets: this.#counters.forwardedPackets,
      keyframeRequests: this.#counters.keyframeRequests,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
    }
    this.#lag.reset()
    return figures
  }

  destroy(): void {
    for (const timer of this.#timers) clearInterval(timer)
    this.#lag.disable()
    for (const room of this.#rooms.values()) room.close()
    this.#rooms.clear()
    for (const connection of this.#prepared.values()) connection.close()
    this.#prepared.clear()
  }
}

function main(): void {
  const send = process.send?.bind(process)
  if (!send) throw new Error('sfu-worker runs as a child process with an IPC channel (child_process.fork)')
  const worker = new SfuWorker(peerOptionsFromEnv(process.env), (message) => {
    if (process.connected) send(message)
  })
  process.on('message', (message: ToWorker) => {
    try {
      worker.handle(message)
    } catch (error) {
      process.stderr.write(`sfu-worker: ${error instanceof Error ? error.stack : String(error)}\n`)
    }
  })
  // The relay is the only reason to exist: when it goes, so do we.
  process.on('disconnect', () => {
    worker.destroy()
    process.exit(0)
  })
  // werift rejects some promises nobody awaits (a closed transport's sends): log, stay up.
  process.on('unhandledRejection', (reason) => process.stderr.write(`sfu-worker: unhandled rejection ${String(reason).slice(0, 300)}\n`))
  // A throw inside one of werift's event callbacks must not take every room of this worker down.
  process.on('uncaughtException', (error) => process.stderr.write(`sfu-worker: uncaught ${error.stack ?? String(error)}\n`))
}

if (process.send) main()
