/**
 * Sequence numbers and timestamps of one outgoing slot. A slot carries one source at a time
 * (a publisher's simulcast layer, or a publisher's audio) and switches between them; the
 * viewer must see one continuous stream: sequence numbers without jumps (a jump reads as
 * loss and triggers NACKs for packets that never existed) and timestamps that keep moving
 * forward by about the time that passed.
 */

const SEQ_MOD = 0x1_0000
const TS_MOD = 0x1_0000_0000

/** `a - b` in the 16-bit sequence space, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  const d = (a - b + SEQ_MOD) % SEQ_MOD
  return d >= 0x8000 ? d - SEQ_MOD : d
}

export interface RewrittenRtp { sequenceNumber: number; timestamp: number }

export class RtpRewriter {
  readonly #clockRate: number
  #seqOffset = 0
  #tsOffset = 0
  #switching = true
  /** First input sequence number of the current source; earlier ones (reordered) are dropped. */
  #sourceFirstSeq = 0
  #lastOut: { seq: number; ts: number; at: number } | null = null

  constructor(clockRate: number) {
    this.#clockRate = clockRate
  }

  /** The next packet comes from another source (or the same one after a gap). */
  switchSource(): void {
    this.#switching = true
  }

  /** Output numbers for an input packet, or null when the packet must be dropped (it predates the current source's start). */
  rewrite(seq: number, ts: number, nowMs: number): RewrittenRtp | null {
    if (this.#switching) {
      this.#switching = false
      this.#sourceFirstSeq = seq
      const last = this.#lastOut
      if (last) {
        // Continue right after the last packet sent; the timestamp moves on by the wall time
        // since then (at least one tick), so the decoder's clock never goes backwards.
        const ticks = Math.max(1, Math.round(((nowMs - last.at) * this.#clockRate) / 1000))
        this.#seqOffset = (last.seq + 1 - seq + SEQ_MOD) % SEQ_MOD
        this.#tsOffset = (last.ts + ticks - ts + TS_MOD) % TS_MOD
      }
    } else if (seqDiff(seq, this.#sourceFirstSeq) < 0) {
      return null
    }
    const out = { sequenceNumber: (seq + this.#seqOffset) % SEQ_MOD, timestamp: (ts + this.#tsOffset) % TS_MOD }
    if (!this.#lastOut || seqDiff(out.sequenceNumber, this.#lastOut.seq) > 0) {
      this.#lastOut = { seq: out.sequenceNumber, ts: out.timestamp, at: nowMs }
    }
    return out
  }
}
