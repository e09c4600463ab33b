import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request as httpRequest } from 'node:http'
import fc from 'fast-check'
import { SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { IceConfig } from '../src/relay/ice-config'
import { MAX_ICE_QUERY_CHARS } from '../src/relay/ice-endpoint'
import type { Relay } from '../src/relay/server'
import { RTM } from '../src/sdk'
import { RawEasyrtc } from './easyrtc-harness'
import { relayForTest } from './helpers'

/**
 * Issue 12: `GET /ice-servers` on a real relay (free loopback port, real HTTP), the SDK's
 * IceConfigSource against it, EasyRTC's iceConfig, and `npm start` refusing a bad TURN_TTL.
 */

const SECRET = 'token-secret'
const TURN_SECRET = 'coturn-static-auth-secret'
const STUN = { urls: 'stun:stun.lan.example:3478' }
const ICE: IceConfig = { servers: [STUN], turn: { secret: TURN_SECRET, urls: ['turn:10.99.0.1:3478?transport=udp'], ttlSeconds: 900 } }
const projectRoot = new URL('..', import.meta.url).pathname

const jwt = (userId: string, claims: Record<string, unknown> = {}, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('1h').sign(new TextEncoder().encode(secret))

let guarded: Relay
let open: Relay
const opened: { close(): void }[] = []
beforeAll(async () => {
  guarded = await relayForTest({ tokenSecret: SECRET, ice: ICE })
  open = await relayForTest({ ice: { ...ICE, transportPolicy: 'relay' } })
})
afterEach(() => { for (const client of opened.splice(0)) client.close() })
afterAll(async () => {
  await guarded.close()
  await open.close()
})

async function ask(relay: Relay, query: Record<string, string>, init: RequestInit = {}) {
  const response = await fetch(`${relay.url}/ice-servers?${new URLSearchParams(query)}`, init)
  return { status: response.status, headers: response.headers, body: await response.json() as Record<string, any> }
}
/** A request as sent, path and headers unnormalised (fetch would tidy them). */
function rawRequest(relay: Relay, method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest(`${relay.url}${path}`, { method, headers }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
    sent.once('error', reject)
    sent.end()
  })
}
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

/** The TURN entry an answer carries, checked against coturn's rule with the shared secret. */
function turnEntry(body: Record<string, any>, userId: string) {
  const entry = (body.iceServers as Record<string, any>[]).find((server) => [server.urls].flat().some((url: string) => url.startsWith('turn:')))
  expect(entry).toBeDefined()
  const [expiry, user] = [entry!.username.slice(0, entry!.username.indexOf(':')), entry!.username.slice(entry!.username.indexOf(':') + 1)]
  expect(user).toBe(userId)
  expect(entry!.credential).toBe(createHmac('sha1', TURN_SECRET).update(entry!.username).digest('base64'))
  return { entry: entry!, expirySeconds: Number(expiry) }
}

describe('GET /ice-servers with TOKEN_SECRET set', () => {
  it('refuses without a token, with a forged one, with another user’s or another app’s (401)', async () => {
    const query = { appId: 'app1', userId: 'alice' }
    const refusals = [
      await ask(guarded, query),
      await ask(guarded, query, bearer(await jwt('alice', {}, 'not-the-secret'))),
      await ask(guarded, query, bearer(await jwt('mallory'))),
      await ask(guarded, query, bearer(await jwt('alice', { appId: 'app2' }))),
      await ask(guarded, query, { headers: { authorization: `Basic ${await jwt('alice')}` } }),
    ]
    expect(refusals.map((refusal) => refusal.status)).toEqual([401, 401, 401, 401, 401])
    expect(refusals.map((refusal) => refusal.body.error.name)).toEqual(['INVALID_TOKEN', 'INVALID_TOKEN', 'INVALID_TOKEN', 'INCONSISTENT_APPID', 'INVALID_TOKEN'])
    for (const refusal of refusals) {
      expect(refusal.body).not.toHaveProperty('iceServers')
      expect(refusal.headers.get('cache-control')).toBe('no-store')
    }
  })

  it('gives a verified user the static servers and TURN credentials of their own, expiring TTL seconds from now', async () => {
    const before = Math.floor(Date.now() / 1000)
    const { status, headers, body } = await ask(guarded, { appId: 'app1', userId: 'alice' }, bearer(await jwt('alice', { appId: 'app1' })))
    const after = Math.floor(Date.now() / 1000)
    expect(status).toBe(200)
    expect(headers.get('cache-control')).toBe('no-store')
    expect(headers.get('content-type')).toBe('application/json')
    expect(body.iceServers[0]).toEqual(STUN)
    const { entry, expirySeconds } = turnEntry(body, 'alice')
    expect(entry.urls).toEqual(['turn:10.99.0.1:3478?transport=udp'])
    expect(expirySeconds).toBeGreaterThanOrEqual(before + 900)
    expect(expirySeconds).toBeLessThanOrEqual(after + 900)
    expect(body).toMatchObject({ expiresAt: expirySeconds * 1000, ttl: 900 })
  })

  it('bounds the query: bad names 400, an oversized query 414, other methods 405, foreign pages 403', async () => {
    const token = await jwt('alice')
    expect((await ask(guarded, { appId: '', userId: 'alice' }, bearer(token))).status).toBe(400)
    expect((await ask(guarded, { appId: 'app1', userId: 'x'.repeat(65) }, bearer(token))).status).toBe(400)
    expect((await ask(guarded, { appId: 'app1', userId: 'alice', pad: 'x'.repeat(MAX_ICE_QUERY_CHARS) }, bearer(token))).status).toBe(414)
    expect((await fetch(`${guarded.url}/ice-servers?appId=a&userId=b`, { method: 'POST' })).status).toBe(405)
    expect((await ask(guarded, { appId: 'app1', userId: 'alice' }, { headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' } })).status).toBe(403)
  })

  it('fuzzed queries, methods and headers: every answer is one of its refusals (never a 5xx, never credentials), and the relay lives', async () => {
    const percentEncoded = (text: string) => text.replace(/[^\x21-\x7e]/g, (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`)
    const query = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 200 }).map(percentEncoded),
      fc.record({ appId: fc.string({ maxLength: 70 }), userId: fc.string({ maxLength: 70 }) }).map((fields) => new URLSearchParams(fields).toString()),
      fc.constantFrom('appId=app1&userId=alice&appId=app2', 'appId=%ZZ&userId=%', 'userId=alice', `appId=a&userId=b&pad=${'x'.repeat(MAX_ICE_QUERY_CHARS)}`),
    )
    const authorization = fc.option(fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ maxLength: 80 }).map((token) => `Bearer ${token}`),
      fc.constantFrom(`Bearer ${'t'.repeat(9000)}`, 'Bearer a.b.c', 'bearer  x'),
    ), { nil: undefined })
    const request = fc.record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD'),
      query, authorization,
      origin: fc.option(fc.constantFrom('https://evil.example', 'null', 'http://127.0.0.1:1'), { nil: undefined }),
    })
    await fc.assert(fc.asyncProperty(request, async ({ method, query, authorization, origin }) => {
      const headers: Record<string, string> = {}
      if (authorization !== undefined) headers.authorization = authorization
      if (origin !== undefined) headers.origin = origin
      const { status, body } = await rawRequest(guarded, method, `/ice-servers?${query}`, headers)
      expect([204, 400, 401, 403, 405, 414]).toContain(status)
      expect(body).not.toContain('credential')
    }), { numRuns: 300 })
    expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200)
  })

  it('answers the preflight of an allowed page on another origin', async () => {
    const response = await fetch(`${guarded.url}/ice-servers?appId=a&userId=b`, {
      method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-headers': 'authorization' },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization')
  })

  it('lives under the base path, and only there', async () => {
    const mounted = await relayForTest({ tokenSecret: SECRET, ice: ICE, basePath: '/signal' })
    try {
      const root = mounted.url.replace(/\/signal$/, '')
      expect((await ask(mounted, { appId: 'a', userId: 'b' }, bearer(await jwt('b')))).status).toBe(200)
      expect((await fetch(`${root}/ice-servers?appId=a&userId=b`)).status).toBe(404)
    } finally {
      await mounted.close()
    }
  })
})

describe('GET /ice-servers in open mode (no TOKEN_SECRET)', () => {
  it('any userId gets TURN credentials, and the operator’s transport policy', async () => {
    const { status, body } = await ask(open, { appId: 'app1', userId: 'anyone' })
    expect(status).toBe(200)
    turnEntry(body, 'anyone')
    expect(body.iceTransportPolicy).toBe('relay')
  })

  it('a relay without ICE configuration answers no servers at all', async () => {
    const bare = await relayForTest()
    try {
      expect((await ask(bare, { appId: 'a', userId: 'b' })).body).toEqual({ iceServers: [], expiresAt: null, ttl: null })
    } finally {
      await bare.close()
    }
  })
})

describe('the SDK fetches the servers for the logged-in user', () => {
  it('rtm.ice asks with the login token and gives TURN first, then the page’s servers', async () => {
    const pageStun = { urls: 'stun:page.example' }
    const rtm = new RTM('app1', 'bob', { url: guarded.url, iceServers: [pageStun] })
    try {
      await rtm.login({ token: await jwt('bob') })
      await rtm.ice.refresh() // in Node nothing is fetched on its own (no RTCPeerConnection here)
      const configuration = rtm.ice.configuration()
      expect(configuration.iceServers).toEqual([STUN, expect.objectContaining({ urls: ICE.turn!.urls }), pageStun])
      expect(rtm.ice.status.state).toBe('served')
      turnEntry({ iceServers: configuration.iceServers }, 'bob')
    } finally {
      rtm.release()
    }
  })

  it('with a refused token, only the page’s servers', async () => {
    const rtm = new RTM('app1', 'bob', { url: guarded.url, transport: 'relay', iceServers: [{ urls: 'stun:page.example' }] })
    try {
      rtm.ice.follow(await jwt('bob', {}, 'forged'))
      await rtm.ice.refresh()
      expect(rtm.ice.status).toMatchObject({ state: 'failed', retry: false })
      expect(rtm.ice.configuration()).toEqual({ iceServers: [{ urls: 'stun:page.example' }] })
    } finally {
      rtm.release()
    }
  })
})

describe('EasyRTC clients get the same servers', () => {
  it('the token’s iceConfig and getIceConfig carry TURN credentials for the authenticated user', async () => {
    const client = new RawEasyrtc(guarded.url)
    opened.push(client)
    const token = await client.auth({ applicationName: 'app1', credential: { userId: 'carol', token: await jwt('carol') } })
    expect(token.msgType).toBe('token')
    expect(token.msgData.iceConfig.iceServers[0]).toEqual(STUN)
    turnEntry(token.msgData.iceConfig, 'carol')
    const refreshed = await client.emit('easyrtcCmd', { msgType: 'getIceConfig', msgData: {} })
    expect(refreshed.msgType).toBe('iceConfig')
    turnEntry(refreshed.msgData.iceConfig, 'carol')
  })

  it('no public STUN list is built in: a relay without ICE configuration gives EasyRTC none', async () => {
    const bare = await relayForTest()
    const client = new RawEasyrtc(bare.url)
    try {
      const token = await client.auth({ applicationName: 'app1' })
      expect(token.msgData.iceConfig).toEqual({ iceServers: [] })
    } finally {
      client.close()
      await bare.close()
    }
  })
})

describe('npm start', () => {
  it('a wrong TURN_TTL stops it with one line naming the variable (exit 1)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ice-main-'))
    try {
      const child = spawn(join(projectRoot, 'node_modules', '.bin', 'tsx'), ['src/relay/main.ts'], {
        cwd: projectRoot, env: { ...process.env, DATA_DIR: dataDir, PORT: '0', TURN_SECRET: 's', TURN_URLS: 'turn:10.0.0.1', TURN_TTL: '5' }, stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
      child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000) // a relay that started instead of failing
      const code = await new Promise<number | null>((resolve) => child.once('close', (exit) => { clearTimeout(timer); resolve(exit) }))
      expect(code).toBe(1)
      expect(output.trim().split('\n')).toEqual(['signal-kit relay: TURN_TTL must be a whole number of seconds from 60 to 86400, not "5"'])
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 30_000)
})
