import type { Lag } from './freeze'

/**
 * Frame gaps (lag100/lag150) measured off the main thread. Read on the main thread, a
 * MediaStreamTrackProcessor's frames wait for every long task (rendering, charts, test
 * drivers), and the processor drops those that wait too long: measured on a smooth 20 fps
 * call with a 120 ms task every 400 ms, main-thread reading saw lag100 ≈ 0.34 and 36 of 41
 * frames; a dedicated Worker saw ≈ 0.00 and all 41. So the track's readable goes to one
 * Worker per page, which keeps a FreezeMeter per watched track and answers period requests.
 */

/** Main thread → worker. `key` names one watch (two monitors may see equal track ids). */
export type FrameGapsRequest =
  | { type: 'watch'; key: number; readable: ReadableStream<{ close(): void }> }
  | { type: 'unwatch'; key: number }
  | { type: 'period'; key: number; requestId: number }

/** Worker → main thread: the period's shares, null when the worker has no such watch. */
export type FrameGapsReply = { type: 'period'; requestId: number; lag: Lag | null }

/** How long `period()` waits for the worker before reporting null (readings come every 2 s). */
export const PERIOD_ANSWER_TIMEOUT_MS = 1_000

/** Frame gaps of one track, measured in the shared worker. */
export interface FrameGapWatch {
  /** Shares of the time since the previous call spent in gaps; null when the worker did not answer. */
  period(): Promise<Lag | null>
  /** Stops measuring; the last watch of the page ends the worker. */
  stop(): void
}

type Processor = new (init: { track: MediaStreamTrack }) => { readable: ReadableStream<{ close(): void }> }

/** One dedicated Worker and the watches it serves; ends itself when the last one stops. */
class FrameGapsWorker {
  private readonly worker = new Worker(new URL('./frame-gaps.worker.ts', import.meta.url), { type: 'module', name: 'frame-gaps' })
  private readonly answers = new Map<number, (lag: Lag | null) => void>()
  private readonly watches = new Set<number>()
  private nextKey = 1
  private nextRequest = 1

  constructor(private readonly ended: () => void) {
    this.worker.addEventListener('message', ({ data }: MessageEvent<FrameGapsReply>) => {
      this.answers.get(data.requestId)?.(data.lag)
    })
  }

  /** Hands the clone's frames to the worker; null when the stream cannot be transferred. */
  watch(clone: MediaStreamTrack, Processor: Processor): FrameGapWatch | null {
    const key = this.nextKey++
    const readable = new Processor({ track: clone }).readable
    try {
      this.post({ type: 'watch', key, readable }, [readable])
    } catch {
      // No transferable streams in this browser: no frame gaps (lag null), as without a processor.
      void readable.cancel().catch(() => undefined)
      if (this.watches.size === 0) this.end()
      return null
    }
    this.watches.add(key)
    let stopped = false
    return {
      period: () => (stopped ? Promise.resolve(null) : this.period(key)),
      stop: () => {
        if (stopped) return
        stopped = true
        this.watches.delete(key)
        this.post({ type: 'unwatch', key })
        if (this.watches.size === 0) this.end()
      },
    }
  }

  private period(key: number): Promise<Lag | null> {
    const requestId = this.nextRequest++
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(null), PERIOD_ANSWER_TIMEOUT_MS)
      const answer = (lag: Lag | null) => {
        clearTimeout(timer)
        this.answers.delete(requestId)
        resolve(lag)
      }
      this.answers.set(requestId, answer)
      this.post({ type: 'period', key, requestId })
    })
  }

  private end(): void {
    this.worker.terminate()
    for (const answer of [...this.answers.values()]) answer(null)
    this.ended()
  }

  private post(request: FrameGapsRequest, transfer: Transferable[] = []): void {
    this.worker.postMessage(request, transfer)
  }
}

// The one worker of the page, made on the first watch and dropped with the last
// (several monitors share it; a Worker per call would cost a thread each).
let shared: FrameGapsWorker | undefined

/**
 * Measures the frame gaps of a video track in a shared Worker, on a clone (stopped by
 * `stop()`). Null where the browser has no MediaStreamTrackProcessor or no Worker, or
 * cannot transfer the stream: lag100/lag150 then stay null.
 *
 * @example
 * const gaps = watchFrameGaps(track)
 * const lag = await gaps?.period()   // every 2 s: { lag100: 0.12, lag150: 0.05 } or null
 * gaps?.stop()
 */
export function watchFrameGaps(track: MediaStreamTrack): FrameGapWatch | null {
  const Processor = (globalThis as { MediaStreamTrackProcessor?: Processor }).MediaStreamTrackProcessor
  if (track.kind !== 'video' || !Processor || typeof Worker === 'undefined') return null
  const clone = track.clone()
  let worker: FrameGapsWorker
  try {
    worker = shared ??= new FrameGapsWorker(() => {
      if (shared === worker) shared = undefined
    })
  } catch {
    // Workers refused (e.g. a Content-Security-Policy): no frame gaps, as without a processor.
    clone.stop()
    return null
  }
  const watch = worker.watch(clone, Processor)
  if (!watch) {
    clone.stop()
    return null
  }
  return {
    period: () => watch.period(),
    stop: () => {
      watch.stop()
      clone.stop()
    },
  }
}
