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

export function byteLength(value: string | Uint8Array): number {
  return typeof value === 'string' ? encoder.encode(value).length : value.byteLength
}
