import { createHmac } from 'node:crypto'
import { z } from 'zod'
import type { IceServer, ServedIce } from '../protocol/ice-servers'

export type { IceServer, ServedIce }

/**
 * The ICE servers the relay hands to WebRTC users (SDK calls, mesh data channels, EasyRTC
 * clients): static entries from ICE_SERVERS, and TURN credentials minted per user for
 * coturn's `use-auth-secret` scheme (the "TURN REST API": draft-uberti-behave-turn-rest-00).
 * No public STUN server is built in: by default browsers use host candidates only, so
 * nothing about a call leaves the networks the users are on.
 */

/** Default lifetime of a minted TURN credential (TURN_TTL), seconds. */
export const DEFAULT_TURN_TTL_S = 3600
/** TURN_TTL bounds: long enough to set up a call, short enough that a leaked credential dies the same day. */
export const MIN_TURN_TTL_S = 60
export const MAX_TURN_TTL_S = 86_400
/** ICE_SERVERS entries and URLs per entry; browsers slow down (and Chromium warns) with long lists. */
export const MAX_ICE_SERVERS = 16
export const MAX_URLS_PER_SERVER = 8

export interface TurnSecret {
  /** coturn's `static-auth-secret`. */
  secret: string
  /** `turn:` / `turns:` URLs of the coturn server(s) sharing that secret. */
  urls: string[]
  ttlSeconds: number
}

export interface IceConfig {
  /** Given to every user as they are: STUN servers, or TURN servers with fixed credentials. */
  servers: IceServer[]
  /** When set, each verified user gets a TURN server entry with credentials of their own. */
  turn?: TurnSecret
  /** `relay`: clients gather relay candidates only (their addresses never reach the other party). */
  transportPolicy?: 'all' | 'relay'
}

/** No servers: host candidates only, as without any configuration. */
export const NO_ICE: IceConfig = { servers: [] }

const ICE_URL = /^(stun|stuns|turn|turns):[^\s,]+$/
const TURN_URL = /^turns?:[^\s,]+$/

const iceServerSchema = z.strictObject({
  urls: z.union([z.string(), z.array(z.string()).min(1).max(MAX_URLS_PER_SERVER)]),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional(),
}).superRefine((server, context) => {
  const urls = typeof server.urls === 'string' ? [server.urls] : server.urls
  for (const url of urls) {
    if (!ICE_URL.test(url)) context.addIssue({ code: 'custom', message: `"${url}" is not a stun:, stuns:, turn: or turns: URL` })
  }
  // RTCPeerConnection throws on a TURN URL without both: one bad entry would break every call.
  if (urls.some((url) => url.startsWith('turn')) && (server.username === undefined || server.credential === undefined)) {
    context.addIssue({ code: 'custom', message: 'a turn:/turns: entry needs username and credential (or use TURN_SECRET and TURN_URLS)' })
  }
})
const iceServersSchema = z.array(iceServerSchema).max(MAX_ICE_SERVERS)

/**
 * Reads ICE_SERVERS (a JSON array of RTCIceServer), TURN_SECRET with TURN_URLS (a comma
 * list of turn:/turns: URLs), TURN_TTL (seconds) and ICE_TRANSPORT_POLICY (`all` | `relay`).
 * Throws a one-line message naming the variable that is wrong.
 */
export function iceConfigFromEnv(env: NodeJS.ProcessEnv): IceConfig {
  const config: IceConfig = { servers: parseIceServers('ICE_SERVERS', env.ICE_SERVERS) ?? [] }
  if (Boolean(env.TURN_SECRET) !== Boolean(env.TURN_URLS)) {
    throw new Error('TURN_SECRET and TURN_URLS go together: set both (coturn\'s static-auth-secret and its turn: URLs) or neither')
  }
  if (env.TURN_SECRET && env.TURN_URLS) {
    const urls = env.TURN_URLS.split(',').map((url) => url.trim()).filter(Boolean)
    const bad = urls.find((url) => !TURN_URL.test(url))
    if (urls.length === 0 || urls.length > MAX_URLS_PER_SERVER || bad !== undefined) {
      throw new Error(`TURN_URLS must be a comma list of 1 to ${MAX_URLS_PER_SERVER} turn: or turns: URLs (turn:turn.example.org:3478?transport=udp), not ${JSON.stringify(bad ?? env.TURN_URLS)}`)
    }
    config.turn = { secret: env.TURN_SECRET, urls, ttlSeconds: parseTtl(env.TURN_TTL) }
  } else if (env.TURN_TTL) {
    throw new Error('TURN_TTL needs TURN_SECRET and TURN_URLS')
  }
  const policy = env.ICE_TRANSPORT_POLICY
  if (policy) {
    if (policy !== 'all' && policy !== 'relay') throw new Error(`ICE_TRANSPORT_POLICY must be "all" or "relay", not ${JSON.stringify(policy)}`)
    if (policy === 'relay' && !config.turn && !config.servers.some((server) => [server.urls].flat().some((url) => url.startsWith('turn')))) {
      throw new Error('ICE_TRANSPORT_POLICY=relay needs a TURN server (TURN_SECRET and TURN_URLS, or a turn: entry in ICE_SERVERS): no call could connect')
    }
    config.transportPolicy = policy
  }
  return config
}

/** A JSON array of ICE servers from variable `name`, validated; undefined when unset. */
export function parseIceServers(name: string, text: string | undefined): IceServer[] | undefined {
  if (!text) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`${name} must be a JSON array of ICE servers ([{"urls":"stun:stun.example.org:3478"}]): ${(error as Error).message}`)
  }
  const parsed = iceServersSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue.path.length > 0 ? ` at [${issue.path.join('][')}]` : ''
    throw new Error(`${name} must be a JSON array of at most ${MAX_ICE_SERVERS} ICE servers ({urls, username?, credential?})${where}: ${issue.message}`)
  }
  return parsed.data
}

function parseTtl(text: string | undefined): number {
  if (!text) return DEFAULT_TURN_TTL_S
  const ttl = Number(text)
  if (!Number.isInteger(ttl) || ttl < MIN_TURN_TTL_S || ttl > MAX_TURN_TTL_S) {
    throw new Error(`TURN_TTL must be a whole number of seconds from ${MIN_TURN_TTL_S} to ${MAX_TURN_TTL_S}, not "${text}"`)
  }
  return ttl
}

/**
 * coturn's `use-auth-secret` credential: username `<expiry unix seconds>:<userId>`,
 * password base64(HMAC-SHA1(secret, username)). coturn recomputes it from the shared
 * secret and refuses it (401) once the expiry has passed; nothing is stored anywhere.
 */
export function turnCredential(secret: string, userId: string, expiresAtSeconds: number): { username: string; credential: string } {
  const username = `${expiresAtSeconds}:${userId}`
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') }
}

/**
 * The ICE servers for one user at `now` (ms): the static entries (or `staticOverride`),
 * then, for a verified `userId` (null: not verified), a TURN entry with credentials
 * valid for the configured TTL.
 */
export function iceServersFor(config: IceConfig, userId: string | null, now: number, staticOverride?: IceServer[]): ServedIce {
  const served: ServedIce = { iceServers: [...(staticOverride ?? config.servers)], expiresAt: null, ttl: null }
  if (config.transportPolicy) served.iceTransportPolicy = config.transportPolicy
  if (config.turn && userId !== null) {
    const expiresAtSeconds = Math.floor(now / 1000) + config.turn.ttlSeconds
    served.iceServers.push({ urls: [...config.turn.urls], ...turnCredential(config.turn.secret, userId, expiresAtSeconds) })
    served.expiresAt = expiresAtSeconds * 1000
    served.ttl = config.turn.ttlSeconds
  }
  return served
}

/** Every server URL users are given (static entries, then TURN), without credentials: what a room JOIN ack lists. */
export function iceUrlsOf(config: IceConfig): string[] {
  return [...config.servers.flatMap((server) => [server.urls].flat()), ...(config.turn?.urls ?? [])]
}
