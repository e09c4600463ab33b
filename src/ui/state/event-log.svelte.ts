import type { FrameEvent, RTM } from '../../sdk'
import { summarise, type Direction, type LogEntry } from './frames'

/** Frames kept in the log; older ones scroll away. */
export const LOG_LIMIT = 500

export type DirectionFilter = Direction | 'both'

/**
 * Every frame in and out of the RTM client, newest last, capped at LOG_LIMIT. While
 * paused, frames are counted but not kept, so what is on screen holds still.
 */
export class EventLog {
  #entries = $state.raw<LogEntry[]>([])
  #paused = $state(false)
  #missed = $state(0)
  #direction = $state<DirectionFilter>('both')
  #query = $state('')
  #hideHeartbeats = $state(false)
  #seq = 0
  readonly #ops = new Map<number, string>()
  readonly #off: () => void

  readonly visible = $derived.by(() => {
    const query = this.#query.trim().toLowerCase()
    return this.#entries.filter((entry) =>
      (this.#direction === 'both' || entry.direction === this.#direction)
      && !(this.#hideHeartbeats && entry.label === 'heartbeat')
      && (!query || entry.label.toLowerCase().includes(query) || entry.text.toLowerCase().includes(query)))
  })

  constructor(rtm: RTM) {
    const onFrame = (event: FrameEvent) => this.#record(event)
    rtm.addEventListener('frame', onFrame)
    this.#off = () => rtm.removeEventListener('frame', onFrame)
  }

  get entries(): LogEntry[] { return this.#entries }
  get paused(): boolean { return this.#paused }
  /** Frames that went by while paused. */
  get missed(): number { return this.#missed }
  get direction(): DirectionFilter { return this.#direction }
  set direction(value: DirectionFilter) { this.#direction = value }
  get query(): string { return this.#query }
  set query(value: string) { this.#query = value }
  get hideHeartbeats(): boolean { return this.#hideHeartbeats }
  set hideHeartbeats(value: boolean) { this.#hideHeartbeats = value }

  togglePause(): void {
    this.#paused = !this.#paused
    if (!this.#paused) this.#missed = 0
  }

  clear(): void {
    this.#entries = []
    this.#missed = 0
  }

  destroy(): void {
    this.#off()
  }

  #record(event: FrameEvent): void {
    // Summarise even while paused so that replies still find their request's op.
    const entry = summarise(event.direction, event.frame, event.timestamp, ++this.#seq, this.#ops)
    if (this.#paused) {
      this.#missed++
      return
    }
    const next = this.#entries.length >= LOG_LIMIT ? this.#entries.slice(this.#entries.length - LOG_LIMIT + 1) : this.#entries.slice()
    next.push(entry)
    this.#entries = next
  }
}
