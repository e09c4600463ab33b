/**
 * When a peer connection's media path (RTCPeerConnection.connectionState) is in trouble, and what to do
 * about it: the offerer (the caller) restarts ICE — at once on `failed`, after
 * ICE_DISCONNECTED_RESTART_MS of `disconnected` (Chromium often recovers from a short
 * `disconnected` by itself) — and again every ICE_RESTART_RETRY_MS while it has not
 * reconnected; the answerer waits for those offers. Past `graceMs` of trouble the call is
 * given up. Timers are injectable for tests.
 */

/** A media path `disconnected` this long gets an ICE restart (`failed` gets one at once). */
export const ICE_DISCONNECTED_RESTART_MS = 3000
/** A restart that has not reconnected within this time is tried again. */
export const ICE_RESTART_RETRY_MS = 6000

export interface IceRecoveryHooks {
  /** Send an ICE restart offer (only called for the offerer). */
  restart(): void
  /** Trouble lasted `graceMs`: end the call. */
  giveUp(): void
  /** `troubled` changed. */
  changed(): void
}

export interface Timers {
  set(run: () => void, ms: number): unknown
  clear(timer: unknown): void
}

const realTimers: Timers = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
}

export class IceRecovery {
  /** Whether the media path is down (disconnected or failed) and not back yet. */
  troubled = false
  private restartTimer: unknown = null
  private giveUpTimer: unknown = null
  private restartedAt = Number.NEGATIVE_INFINITY
  /** Whether the signaling can carry an offer now (false while our call is being re-bound). */
  private signaling = true

  constructor(
    private readonly hooks: IceRecoveryHooks,
    private readonly options: { offerer: boolean; graceMs: number; timers?: Timers; now?: () => number },
  ) {}

  /** The peer connection's connectionState changed. */
  update(state: RTCPeerConnectionState): void {
    if (state === 'connected') return this.recovered()
    if (state !== 'disconnected' && state !== 'failed') return // new, connecting: a restart in progress keeps its timers
    if (!this.troubled) {
      this.troubled = true
      this.giveUpTimer = this.timers.set(() => this.hooks.giveUp(), this.options.graceMs)
      this.hooks.changed()
    }
    if (state === 'failed' && this.now() - this.restartedAt >= ICE_RESTART_RETRY_MS) this.restartNow()
    else if (this.restartTimer === null) this.schedule(state === 'failed' ? ICE_RESTART_RETRY_MS : ICE_DISCONNECTED_RESTART_MS)
  }

  /** The signaling link is down (our call is being re-bound): offers would be lost. */
  paused(): void {
    this.signaling = false
  }

  /** The signaling is back (our call was re-bound, or the other party's was): a troubled path restarts now. */
  resumed(): void {
    this.signaling = true
    if (this.troubled) this.restartNow()
  }

  destroy(): void {
    this.clearTimers()
  }

  private recovered(): void {
    this.clearTimers()
    if (!this.troubled) return
    this.troubled = false
    this.hooks.changed()
  }

  private restartNow(): void {
    this.timers.clear(this.restartTimer)
    this.restartTimer = null
    if (this.options.offerer && this.signaling) {
      this.restartedAt = this.now()
      this.hooks.restart()
    }
    this.schedule(ICE_RESTART_RETRY_MS)
  }

  private schedule(ms: number): void {
    this.timers.clear(this.restartTimer)
    this.restartTimer = this.timers.set(() => {
      this.restartTimer = null
      if (this.troubled) this.restartNow()
    }, ms)
  }

  private clearTimers(): void {
    this.timers.clear(this.restartTimer)
    this.timers.clear(this.giveUpTimer)
    this.restartTimer = this.giveUpTimer = null
  }

  private get timers(): Timers {
    return this.options.timers ?? realTimers
  }

  private now(): number {
    return this.options.now?.() ?? Date.now()
  }
}
