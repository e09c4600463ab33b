import { rtmError, type RtmErrorInfo } from '../protocol/errors'

/**
 * A token bucket: `ratePerSecond` sustained, `burst` at once. Time comes in as `now` (ms),
 * so the same bucket serves the relay, a coordinator tab and pure tests.
 */
export class TokenBucket {
  private tokens: number
  private updatedAt: number | null = null

  constructor(private readonly ratePerSecond: number, private readonly burst: number) {
    this.tokens = burst
  }

  /** Takes one token if there is one; false means the caller is over the rate. */
  take(now: number): boolean {
    if (this.updatedAt !== null) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond)
    }
    this.updatedAt = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

/** A sustained rate and the burst allowed on top of it. */
export interface Rate { perSecond: number; burst: number }

export function bucketFor(rate: Rate): TokenBucket {
  return new TokenBucket(rate.perSecond, rate.burst)
}

/** Publishes per user (message, user and topic channels), ours; over it -10021. */
export const PUBLISH_RATE: Rate = { perSecond: 60, burst: 120 }
/** Re-subscribes of an already subscribed channel (each resends the SNAPSHOT); over it -11020. */
export const RESUBSCRIBE_RATE: Rate = { perSecond: 1, burst: 5 }

export function rateExceeded(op: string, what: string, rate: Rate): RtmErrorInfo {
  return rtmError('OPERATION_RATE_EXCEED_LIMITATION', op, `at most ${rate.perSecond} ${what} per second (bursts of ${rate.burst}); slow down`)
}
