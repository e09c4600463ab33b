import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { io as ioClient, type Socket } from 'socket.io-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { Relay, RelayOptions } from '../src/relay/server'
import { DATABASE_FILE, SqliteStore } from '../src/store/sqlite-store'
import { relayForTest, spread, until } from './helpers'

/**
 * Finding 6 of issue 11 (the smaller ones): which browser origins may connect, the page's
 * security headers, the store's file modes and secrets, and startup errors. Real relay on
 * a free loopback port, real socket.io and ws clients, the real `npm start` entry point.
 */

const FOREIGN = 'https://evil.example'
const projectRoot = new URL('..', import.meta.url).pathname
const tsx = join(projectRoot, 'node_modules', '.bin', 'tsx')

let dir: string
const relays: Relay[] = []
const sockets: Socket[] = []
async function relay(options: RelayOptions = {}): Promise<Relay> {
  const started = await relayForTest(options)
  relays.push(started)
  return started
}

beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'http-policy-')) })
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.disconnect()
  for (const started of relays.splice(0)) await started.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Connects a socket.io client sending these headers; resolves with whether the relay let it in. */
function socketIoAdmits(url: string, headers: Record<string, string>, transport: 'websocket' | 'polling'): Promise<boolean> {
  const socket = ioClient(url, { transports: [transport], extraHeaders: headers, reconnection: false, forceNew: true, timeout: 5000 })
  sockets.push(socket)
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(true))
    socket.once('connect_error', () => resolve(false))
  })
}

/** Opens a raw WebSocket; resolves with the HTTP status of a refused upgrade, or 101 when it opened. */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url, { headers })
  return new Promise((resolve, reject) => {
    ws.once('open', () => { ws.close(); resolve(101) })
    ws.once('unexpected-response', (_request, response) => { resolve(response.statusCode ?? 0); ws.terminate() })
    ws.once('error', reject)
  })
}

/** Runs `npm start`'s entry point with this environment; resolves with its exit code and everything it printed. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(tsx, ['src/relay/main.ts'], { cwd: projectRoot, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000) // a relay that started instead of failing
  return new Promise((resolve) => child.once('close', (code) => { clearTimeout(timer); resolve({ code, output }) }))
}

const modeOf = (path: string) => statSync(path).mode & 0o777

describe('the page is served with security headers', () => {
  const expected = {
    'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'permissions-policy': 'camera=(self), microphone=(self), display-capture=(self)',
  }

  it('on the page, a 404 and /healthz', async () => {
    mkdirSync(join(dir, 'page'))
    writeFileSync(join(dir, 'page', 'index.html'), '<!doctype html><title>page</title>')
    const withPage = await relay({ staticDir: join(dir, 'page') })
    const page = await fetch(`${withPage.url}/`)
    expect(page.status).toBe(200)
    expect(Object.fromEntries(page.headers)).toMatchObject(expected)
    const csp = page.headers.get('content-security-policy')!
    for (const directive of ["default-src 'self'", "script-src 'self'", "connect-src 'self' ws: wss:", "object-src 'none'", "base-uri 'self'", "form-action 'self'"]) {
      expect(csp).toContain(directive)
    }

    const bare = await relay()
    const missing = await fetch(`${bare.url}/no-such-page`)
    expect(missing.status).toBe(404)
    expect(Object.fromEntries(missing.headers)).toMatchObject(expected)
    const health = await fetch(`${bare.url}/healthz`)
    expect(health.status).toBe(200)
    expect(Object.fromEntries(health.headers)).toMatchObject(expected)
  })
})

describe('only allowed browser origins may connect', () => {
  // Spread: counts one process's connections (io.engine.clientsCount).
  it.skipIf(spread)('socket.io refuses a foreign Origin on both transports, and admits no Origin, localhost and the page\'s own origin', async () => {
    const { url, port } = await relay()
    expect(await socketIoAdmits(url, { origin: FOREIGN }, 'websocket')).toBe(false)
    expect(await socketIoAdmits(url, { origin: FOREIGN }, 'polling')).toBe(false)
    expect(await socketIoAdmits(url, {}, 'websocket')).toBe(true) // not a browser: a Node SDK client
    expect(await socketIoAdmits(url, { origin: `http://localhost:${port + 1}` }, 'websocket')).toBe(true)
    // The page's own origin, under a name that is not on the default list.
    expect(await socketIoAdmits(url, { origin: `http://relay.example:${port}`, host: `relay.example:${port}` }, 'websocket')).toBe(true)
    expect(await socketIoAdmits(url, {}, 'polling')).toBe(true)
    expect(relays[0].io.engine.clientsCount).toBe(4)
  })

  it('a raw /ws/calls upgrade from a foreign Origin gets 403; without an Origin it opens', async () => {
    const { url } = await relay()
    const calls = `${url.replace('http', 'ws')}/ws/calls`
    expect(await upgradeStatus(calls, { origin: FOREIGN })).toBe(403)
    expect(await upgradeStatus(`${url.replace('http', 'ws')}/peerjs/peerjs?key=peerjs&id=x&token=t`, { origin: FOREIGN })).toBe(403)
    expect(await upgradeStatus(calls, {})).toBe(101)
  })

  it('ALLOWED_ORIGINS admits the listed origin, replaces localhost, and keeps the page\'s own origin', async () => {
    const { url, port } = await relay({ allowedOrigins: ['https://example.org'] })
    const calls = `${url.replace('http', 'ws')}/ws/calls`
    expect(await upgradeStatus(calls, { origin: 'https://example.org' })).toBe(101)
    expect(await upgradeStatus(calls, { origin: FOREIGN })).toBe(403)
    expect(await upgradeStatus(calls, { origin: `http://localhost:${port + 1}` })).toBe(403)
    expect(await socketIoAdmits(url, { origin: 'https://example.org' }, 'websocket')).toBe(true)
    expect(await socketIoAdmits(url, { origin: `http://127.0.0.1:${port}` }, 'websocket')).toBe(true) // same origin as the page
    expect(await socketIoAdmits(url, { origin: `http://localhost:${port + 1}` }, 'websocket')).toBe(false)
  })
})

describe('the durable store keeps its files private', () => {
  it('creates DATA_DIR 0700 and the database with its -wal and -shm files 0600, and tightens an older store', async () => {
    const fresh = join(dir, 'fresh', 'data')
    const store = await SqliteStore.open(fresh)
    await store.commit([{ key: 'k', value: 1 }])
    expect(modeOf(fresh)).toBe(0o700)
    for (const file of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]) expect([file, modeOf(join(fresh, file))]).toEqual([file, 0o600])
    await store.close()

    // As left by an older version: a 0755 folder with a 0644 database.
    const older = join(dir, 'older')
    mkdirSync(older, { mode: 0o755 })
    chmodSync(older, 0o755)
    writeFileSync(join(older, DATABASE_FILE), '')
    chmodSync(join(older, DATABASE_FILE), 0o644)
    const reopened = await SqliteStore.open(older)
    await reopened.commit([{ key: 'k', value: 2 }])
    expect(modeOf(older)).toBe(0o700)
    for (const file of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]) expect([file, modeOf(join(older, file))]).toEqual([file, 0o600])
    await reopened.close()
  })

  // Spread: reads the relay's SQLite file; in scaled mode the state lives in Redis.
  it.skipIf(spread)('never writes a resume key in plain text: the reply stored with a write is keyed by its digest', async () => {
    const store = await SqliteStore.open(dir)
    const { url } = await relay({ store })
    const socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true })
    sockets.push(socket)
    const replies = new Map<number, { ok: boolean; result?: Record<string, unknown> }>()
    socket.on('f', (frame: { t: string; id: number; ok: boolean; result?: Record<string, unknown> }) => { if (frame.t === 'res') replies.set(frame.id, frame) })
    socket.emit('f', { t: 'req', id: 1, op: 'login', args: { appId: 'app', userId: 'alice' } })
    await until(() => replies.has(1))
    const resumeKey = String(replies.get(1)!.result!.resumeKey)
    expect(resumeKey.length).toBeGreaterThanOrEqual(16)
    socket.emit('f', { t: 'req', id: 2, op: 'setChannelMetadata', args: { channelName: 'room', channelType: 1, items: [{ key: 'doc', value: 'v1' }] } })
    await until(() => replies.has(2))
    expect(replies.get(2)!.ok).toBe(true)

    // What is on disk, read with a connection of our own (WAL: committed rows are visible).
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true })
    const rows = db.prepare('SELECT key, value FROM entries').all() as { key: string; value: string }[]
    db.close()
    expect(rows.some((row) => row.key.startsWith('reply'))).toBe(true) // the reply is stored…
    expect(rows.filter((row) => row.key.includes(resumeKey) || row.value.includes(resumeKey))).toEqual([]) // …without the key
  })
})

describe('startup problems end in one line and exit status 1', () => {
  it('DATA_DIR pointing at a file names the path and the cause', async () => {
    const file = join(dir, 'not-a-folder')
    writeFileSync(file, 'x')
    const { code, output } = await runMain({ DATA_DIR: file, PORT: '0' })
    expect(code).toBe(1)
    const lines = output.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(file)
    expect(lines[0]).toMatch(/not a folder/)
  }, 30_000)

  it('a PORT already in use names the address', async () => {
    const { port } = await relay()
    const { code, output } = await runMain({ DATA_DIR: join(dir, 'data'), PORT: String(port), HOST: '127.0.0.1' })
    expect(code).toBe(1)
    const lines = output.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`127.0.0.1:${port}`)
    expect(lines[0]).toMatch(/already in use/)
  }, 30_000)
})
