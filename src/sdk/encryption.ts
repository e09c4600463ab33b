import { rtmError, type RtmErrorInfo } from '../protocol/errors'

export type EncryptionMode = 'NONE' | 'AES_128_GCM' | 'AES_256_GCM'

/** Seed 000 RtmEncryptionConfig: the salt is 32 bytes. */
export const SALT_BYTES = 32
/** Envelope of an encrypted payload: "SKE" + version, payload type, 12-byte IV, AES-GCM ciphertext. */
const MAGIC = [0x53, 0x4b, 0x45, 0x01]
const IV_BYTES = 12
const STRING = 1
const BINARY = 0

/**
 * Client-side end-to-end encryption of message payloads (seed 000 "RtmEncryptionConfig"):
 * the relay and other coordinators only ever see ciphertext. The AES key is derived from
 * the user's key and salt with HKDF-SHA-256, so every client configured alike agrees.
 */
export class PayloadCipher {
  private constructor(private readonly key: CryptoKey) {}

  static async create(mode: EncryptionMode, cipherKey: string | undefined, salt: Uint8Array | undefined): Promise<PayloadCipher | RtmErrorInfo> {
    if (!cipherKey) return rtmError('INVALID_ENCRYPTION_PARAMETER', 'login', `${mode} needs a cipherKey`)
    if (salt && salt.byteLength !== SALT_BYTES) return rtmError('INVALID_ENCRYPTION_PARAMETER', 'login', `the salt must be ${SALT_BYTES} bytes`)
    const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(cipherKey), 'HKDF', false, ['deriveKey'])
    const key = await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(salt ?? new Uint8Array(SALT_BYTES)), info: new TextEncoder().encode('signal-kit payload') },
      material,
      { name: 'AES-GCM', length: mode === 'AES_128_GCM' ? 128 : 256 },
      false,
      ['encrypt', 'decrypt'],
    )
    return new PayloadCipher(key)
  }

  async seal(message: string | Uint8Array): Promise<Uint8Array> {
    const plain = typeof message === 'string' ? new TextEncoder().encode(message) : new Uint8Array(message)
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, this.key, plain))
    const out = new Uint8Array(MAGIC.length + 1 + IV_BYTES + sealed.byteLength)
    out.set(MAGIC)
    out[MAGIC.length] = typeof message === 'string' ? STRING : BINARY
    out.set(iv, MAGIC.length + 1)
    out.set(sealed, MAGIC.length + 1 + IV_BYTES)
    return out
  }

  /** The original payload, or null when `data` is not ours or fails authentication. */
  async open(data: string | Uint8Array): Promise<string | Uint8Array | null> {
    if (typeof data === 'string' || data.byteLength < MAGIC.length + 1 + IV_BYTES || MAGIC.some((byte, i) => data[i] !== byte)) return null
    const iv = data.slice(MAGIC.length + 1, MAGIC.length + 1 + IV_BYTES)
    try {
      const plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, this.key, data.slice(MAGIC.length + 1 + IV_BYTES)))
      return data[MAGIC.length] === STRING ? new TextDecoder().decode(plain) : plain
    } catch {
      return null // wrong key or tampered: the caller delivers the raw bytes
    }
  }
}
