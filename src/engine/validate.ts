/**
 * Name rules shared by the engine modules. Seed 000 says ids must be non-empty and
 * free of "illegal characters" without listing them; we allow printable ASCII except
 * whitespace-only names, up to 64 characters (README: protocol choices).
 */
export const MAX_NAME_LENGTH = 64
const NAME_PATTERN = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/

export function isValidName(value: string): boolean {
  return value.length > 0 && value.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(value)
}

const encoder = new TextEncoder()
/** Below this many UTF-16 units counting beats encoding; above it the native encoder is faster than a JS loop. */
const COUNT_BELOW = 128

/**
 * UTF-8 size. Runs per publish: short strings (most messages, state keys) are counted without
 * allocating; a lone surrogate counts as U+FFFD, as TextEncoder writes it.
 */
export function byteLength(value: string | Uint8Array): number {
  if (typeof value !== 'string') return value.byteLength
  if (value.length >= COUNT_BELOW) return encoder.encode(value).length
  let bytes = value.length
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x80) continue
    if (code < 0x800) bytes += 1
    else if (code >= 0xd800 && code <= 0xdbff && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2 // a pair: 4 bytes for its 2 UTF-16 units
      i++
    } else bytes += 2
  }
  return bytes
}
