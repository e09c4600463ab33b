import type { IncomingMessage, ServerResponse } from 'node:http'
import { isValidName } from '../engine/validate'
import type { TokenVerifier } from '../host/ports'
import type { OriginCheck } from './http-policy'
import { iceServersFor, type IceConfig } from './ice-config'

/** The route, below the relay's base path. */
export const ICE_SERVERS_PATH = '/ice-servers'
/** A query longer than this (two names of at most 64 characters, encoded) is refused before it is read. */
export const MAX_ICE_QUERY_CHARS = 1024
/** A bearer token longer than this is refused unverified (our JWTs are a few hundred bytes). */
export const MAX_TOKEN_CHARS = 8192

export interface IceEndpointDeps {
  ice: IceConfig
  verifier: TokenVerifier
  originAllowed: OriginCheck
  now(): number
}

/**
 * `GET <basePath>/ice-servers?appId=…&userId=…` with `Authorization: Bearer <login token>`:
 * the ICE servers for that user, TURN credentials included, once the token checks out as
 * a login token of that user in that app (open mode: anyone). Answers `ServedIce` with
 * `cache-control: no-store`; 401 with the token error otherwise. Keeps no state per request.
 */
export async function serveIceServers(request: IncomingMessage, response: ServerResponse, deps: IceEndpointDeps): Promise<void> {
  const origin = request.headers.origin
  if (!deps.originAllowed(origin, request.headers.host)) return reply(response, 403, { error: 'origin not allowed' })
  // Pages of other allowed origins fetch with an Authorization header: answer their preflight.
  if (origin !== undefined) {
    response.setHeader('Access-Control-Allow-Origin', origin)
    response.setHeader('Vary', 'Origin')
  }
  if (request.method === 'OPTIONS') {
    response.writeHead(204, { 'Access-Control-Allow-Methods': 'GET', 'Access-Control-Allow-Headers': 'authorization', 'Access-Control-Max-Age': '600' })
    return void response.end()
  }
  if (request.method !== 'GET') {
    response.setHeader('Allow', 'GET, OPTIONS')
    return reply(response, 405, { error: 'use GET' })
  }
  const url = request.url ?? ''
  const queryAt = url.indexOf('?')
  const query = queryAt < 0 ? '' : url.slice(queryAt + 1)
  if (query.length > MAX_ICE_QUERY_CHARS) return reply(response, 414, { error: 'query too long' })
  const params = new URLSearchParams(query)
  const appId = params.get('appId') ?? ''
  const userId = params.get('userId') ?? ''
  if (!isValidName(appId) || !isValidName(userId)) return reply(response, 400, { error: 'appId and userId must be 1–64 printable ASCII characters' })
  const authorization = request.headers.authorization ?? ''
  const token = /^Bearer (\S+)$/i.exec(authorization)?.[1]
  if (token !== undefined && token.length > MAX_TOKEN_CHARS) return reply(response, 401, { error: { name: 'INVALID_TOKEN', reason: 'token too long' } })
  const check = await deps.verifier.verify(token, appId, userId, 'iceServers')
  if (!check.ok) {
    const { errorCode, name, reason } = check.error
    return reply(response, 401, { error: { errorCode, name, reason } }, { 'WWW-Authenticate': 'Bearer' })
  }
  reply(response, 200, iceServersFor(deps.ice, userId, deps.now()))
}

function reply(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) return
  response.writeHead(status, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(body))
}
