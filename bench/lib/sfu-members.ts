import { fileURLToPath } from 'node:url'
import { ForkedWorkers } from './forked-workers'

/**
 * The synthetic members of the SFU bench, in child processes (bench/lib/sfu-members-worker.ts):
 * process 0 hosts the publisher alone, so its 30 fps send clock does not wait behind the
 * viewers' receive work; the viewers are spread over the others.
 */

const WORKER = fileURLToPath(new URL('./sfu-members-worker.ts', import.meta.url))
const OVERLOAD_RETRY_MS = 500
const OVERLOAD_GIVE_UP_MS = 20_000

export type MembersCommand =
  | { cmd: 'publish'; url: string; rid: string }
  | { cmd: 'view'; url: string; rid: string; name: string }
  | { cmd: 'sample'; publisher: boolean }
  | { cmd: 'close' }

export interface MemberSample {
  name: string
  /** Distinct RTP timestamps received on video slots so far (one per frame). */
  frames: number
  videoPackets: number
  audioPackets: number
  /** JOIN sent → first VP8 keyframe start received, ms; null before one came. */
  firstFrameMs: number | null
  /** The receive connection's state (werift), and whether an sfu.slots NOTIFY came: why a viewer has no video. */
  connectionState: string
  slotsNamed: boolean
}

export interface Refusals { refusals: number; lastRefusal: string | null }
export interface PublisherSample { at: number; cpuUs: number; packetsSent: number; keyframesSent: number; framesSent: number; /** Its send connection to the SFU (werift's state). */ connectionState: string }
export interface ViewersSample { at: number; cpuUs: number; members: MemberSample[] }

function checked<T>(reply: unknown): T {
  const error = (reply as { error?: string }).error
  if (error) throw new Error(`synthetic members: ${error}`)
  return reply as T
}

export class SfuMembers {
  readonly #workers: ForkedWorkers<MembersCommand>
  #viewers = 0

  /** `viewerProcesses` processes for viewers, one more for the publisher. */
  constructor(readonly url: string, readonly rid: string, viewerProcesses: number) {
    this.#workers = new ForkedWorkers<MembersCommand>(WORKER, 1 + Math.max(1, viewerProcesses))
  }

  get viewerCount(): number {
    return this.#viewers
  }

  /** Creates the room (JOIN with op.roomCreating) and starts publishing into it; returns the JOIN refusals (see `#joining`). */
  async publish(): Promise<Refusals> {
    return this.#joining(0, { cmd: 'publish', url: this.url, rid: this.rid })
  }

  /** One more viewer: resolves once its JOIN is acked and its answer sent. */
  async addViewer(): Promise<Refusals> {
    const index = this.#viewers
    const refusals = await this.#joining(1 + (index % (this.#workers.size - 1)), { cmd: 'view', url: this.url, rid: this.rid, name: `bench-viewer-${index}` })
    this.#viewers++
    return refusals
  }

  /**
   * A JOIN refused with "Server overload" (the worker's event loop past SFU_LAG_BUDGET_MS, or no
   * receive connection ready yet, e.g. while the first worker starts) is tried again, as the
   * message asks, every OVERLOAD_RETRY_MS for up to OVERLOAD_GIVE_UP_MS.
   */
  async #joining(process: number, command: MembersCommand): Promise<Refusals> {
    const giveUpAt = performance.now() + OVERLOAD_GIVE_UP_MS
    const refusals: Refusals = { refusals: 0, lastRefusal: null }
    for (;;) {
      const reply = await this.#workers.ask<{ error?: string }>(process, command)
      if (!reply.error) return refusals
      if (!reply.error.includes('Server overload') || performance.now() > giveUpAt) checked(reply)
      refusals.refusals++
      refusals.lastRefusal = reply.error.slice(reply.error.indexOf('Server overload'))
      await new Promise((resolve) => setTimeout(resolve, OVERLOAD_RETRY_MS))
    }
  }

  async samplePublisher(): Promise<PublisherSample> {
    return checked<PublisherSample>(await this.#workers.ask(0, { cmd: 'sample', publisher: true }))
  }

  /** Every viewer's counts, one sample per viewer process (each with its own clock). */
  async sampleViewers(): Promise<ViewersSample[]> {
    const all = await Promise.all(Array.from({ length: this.#workers.size - 1 }, (_, i) => this.#workers.ask(1 + i, { cmd: 'sample', publisher: false })))
    return all.map((reply) => checked<ViewersSample>(reply))
  }

  /** Closes every member, then the processes. */
  async close(): Promise<void> {
    await Promise.race([this.#workers.all({ cmd: 'close' }).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3000))])
    await this.#workers.close()
  }
}
