import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { decodeJwt } from 'jose'
import { isValidName } from '../engine/validate'
import type { TokenVerifier } from '../host/ports'

/**
 * Who a raw WebSocket client (/ws/calls, /ws/rooms) is, from its upgrade URL: these
 * clients never send a login, so the URL is their login.
 */

/** The app of a socket whose URL names none: the page's default app (DEFAULT_APP_ID in src/ui/state/app.svelte.ts). */
export const DEFAULT_WS_APP_ID = 'demo'
/** Node fires longer timeouts at once; a token valid beyond this (24 days) is not timed. */
export const MAX_TIMER_MS = 2 ** 31 - 1

export interface UpgradeIdentity { appId: string; userId: string | null }
export type Identified = { ok: true; identity: UpgradeIdentity; expiresAt: number | null } | { ok: false; status: 400 | 401; reason: string }

/**
 * `?appId=` (default DEFAULT_WS_APP_ID), and `?token=` — required and verified when the
 * relay has a token secret (401 otherwise), its user being the socket's — or, in open
 * mode, `?userId=`. Neither: an anonymous socket of the app.
 */
export async function identifyUpgrade(request: IncomingMessage, verifier: TokenVerifier, operation: string): Promise<Identified> {
  const query = new URL(request.url ?? '/', 'http://relay').searchParams
  const appId = query.get('appId') ?? DEFAULT_WS_APP_ID
  if (!isValidName(appId)) return { ok: false, status: 400, reason: 'appId must be 1–64 printable ASCII characters' }
  const named = query.get('userId') ?? undefined
  if (named !== undefined && !isValidName(named)) return { ok: false, status: 400, reason: 'userId must be 1–64 printable ASCII characters' }
  const token = query.get('token') || undefined
  const userId = named ?? subjectOf(token)
  // With a secret this needs a valid token for that user and app; open mode accepts anything.
  const check = await verifier.verify(token, appId, userId ?? '', operation)
  if (!check.ok) return { ok: false, status: 401, reason: check.error.reason }
  return { ok: true, identity: { appId, userId: userId ?? null }, expiresAt: check.expiresAt }
}

/** The user a token names (`sub`, else `uid`), read without checking: the verifier checks it. */
function subjectOf(token: string | undefined): string | undefined {
  if (!token) return undefined
  try {
    const claims = decodeJwt(token)
    const subject = claims.sub ?? claims.uid
    return typeof subject === 'string' && isValidName(subject) ? subject : undefined
  } catch {
    return undefined // not a JWT: with a secret the verifier refuses it, in open mode the socket is anonymous
  }
}

/** Answers a refused upgrade with a plain HTTP status and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: 400 | 401, reason: string): void {
  const text = status === 401 ? 'Unauthorized' : 'Bad Request'
  const body = `${reason}\n`
  // The peer may reset as soon as it has the answer (a balancer does): that is not an error of ours.
  socket.on('error', () => socket.destroy())
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

/** The JSON value of a text frame, or undefined when it is not JSON (the caller answers that). */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
