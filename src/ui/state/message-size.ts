/**
 * The composer's length check, so that a message the coordinator would refuse (-11010) is
 * caught before it is sent: the limit counts UTF-8 bytes, as the engine does.
 */

/** Seed 000 "publish": a message channel (and a user channel) carries at most 32 KB. The engine's MAX_MESSAGE_BYTES; a test keeps the two equal. */
export const MESSAGE_LIMIT_BYTES = 32 * 1024
/** The counter shows from this share of the limit on; shorter messages need no counting. */
export const COUNTER_FROM = 0.75

export interface MessageSize {
  bytes: number
  /** Past the limit: the message cannot be sent. */
  over: boolean
  /** What to show under the composer ('' while the message is short). */
  label: string
}

const encoder = new TextEncoder()

/** UTF-8 size; a lone surrogate counts as U+FFFD, as the engine counts it. */
export function utf8Bytes(text: string): number {
  // ASCII needs no encoding: one byte per character (most messages).
  if (!/[^\x00-\x7f]/.test(text)) return text.length
  return encoder.encode(text).length
}

/** A size in KB for people, rounded up so that a message just over the limit never reads as the limit. */
export function kilobytes(bytes: number): string {
  const tenths = Math.ceil((bytes * 10) / 1024)
  return `${tenths % 10 === 0 ? tenths / 10 : (tenths / 10).toFixed(1)} KB`
}

/** How big `text` is against `limit`, and what the composer says about it. */
export function measureMessage(text: string, limit = MESSAGE_LIMIT_BYTES): MessageSize {
  const bytes = utf8Bytes(text)
  const over = bytes > limit
  if (over) return { bytes, over, label: `Message too long — ${kilobytes(bytes)} of ${kilobytes(limit)}` }
  return { bytes, over, label: bytes >= limit * COUNTER_FROM ? `${kilobytes(bytes)} of ${kilobytes(limit)}` : '' }
}
