import { errors, jwtVerify } from 'jose'
import { rtmError } from '../protocol/errors'
import type { TokenCheck, TokenVerifier } from '../host/ports'

/** Without a secret the relay runs in open demo mode: any token (or none) is accepted. */
export const openMode: TokenVerifier = {
  async verify() {
    return { ok: true, expiresAt: null }
  },
}

/**
 * HS256 JWTs (seed 000 "User authentication"): `sub` (or `uid`) must be the userId; an
 * `appId` claim, when present, must match; `exp` gives the expiry that drives
 * tokenPrivilegeWillExpire and TOKEN_EXPIRED.
 */
export function jwtVerifier(secret: string): TokenVerifier {
  const key = new TextEncoder().encode(secret)
  return {
    async verify(token, appId, userId, operation): Promise<TokenCheck> {
      if (!token) return { ok: false, error: rtmError('INVALID_TOKEN', operation, 'a token is required') }
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] })
        const subject = payload.sub ?? payload.uid
        if (subject !== userId) return { ok: false, error: rtmError('INVALID_TOKEN', operation, 'the token was issued for another userId') }
        if (payload.appId !== undefined && payload.appId !== appId) return { ok: false, error: rtmError('INCONSISTENT_APPID', operation, 'the token was issued for another appId') }
        return { ok: true, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null }
      } catch (error) {
        if (error instanceof errors.JWTExpired) return { ok: false, error: rtmError('TOKEN_EXPIRED', operation) }
        return { ok: false, error: rtmError('INVALID_TOKEN', operation, error instanceof Error ? error.message : 'invalid token') }
      }
    },
  }
}
