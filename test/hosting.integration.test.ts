import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { io as ioClient, type Socket } from 'socket.io-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { RelayChild } from '../bench/lib/relay-child'
import { freePort } from '../bench/lib/free-port'
import { selfSignedCertificate } from '../src/relay/lan'
import type { Relay, RelayOptions } from '../src/relay/server'
import { Capture, client, relayForTest, spread } from './helpers'

/**
 * Issue 18, hosting: a relay mounted under BASE_PATH, the client address behind a trusted
 * proxy (TRUST_PROXY), HTTPS with a certificate swapped on SIGHUP, and SIGTERM draining.
 * Real relays (in-process and the real `npm start` entry point), real socket.io, ws and TLS.
 */

const projectRoot = new URL('..', import.meta.url).pathname
let dir: string
const relays: Relay[] = []
const sockets: Socket[] = []
const children: ChildProcess[] = []
async function relay(options: RelayOptions = {}): Promise<Relay> {
  const started = await relayForTest(options)
  relays.push(started)
  return started
}

beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'hosting-')) })
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.disconnect()
  for (const started of relays.splice(0)) await started.close()
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

/** Connects a socket.io client (under `path`) sending these headers; resolves with whether the relay let it in. */
function socketIoAdmits(url: string, headers: Record<string, string>, path = '/socket.io'): Promise<boolean> {
  const socket = ioClient(url, { path, transports: ['websocket'], extraHeaders: headers, reconnection: false, forceNew: true, timeout: 5000 })
  sockets.push(socket)
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(true))
    socket.once('connect_error', () => resolve(false))
  })
}

/** Opens a raw WebSocket; resolves with 101 when it opened, the status of a refusal, or 0 when the socket was dropped. */
function upgradeStatus(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  const ws = new WebSocket(url, options)
  return new Promise((resolve) => {
    ws.once('open', () => { ws.close(); resolve(101) })
    ws.once('unexpected-response', (_request, response) => { resolve(response.statusCode ?? 0); ws.terminate() })
    ws.once('error', () => resolve(0))
  })
}

// Spread: per-address limits are per process (three relays admit three times as many), and HAProxy in front is itself the proxy these tests play.
describe.skipIf(spread)('TRUST_PROXY: the client address behind a proxy', () => {
  const forwardedFor = (address: string) => ({ 'x-forwarded-for': address })

  it('a trusted proxy names the client, so the per-address limit counts clients, not the proxy', async () => {
    const behindProxy = await relay({ trustProxy: ['loopback'], maxConnectionsPerAddress: 1 })
    expect(await socketIoAdmits(behindProxy.url, forwardedFor('203.0.113.5'))).toBe(true)
    expect(await socketIoAdmits(behindProxy.url, forwardedFor('203.0.113.6'))).toBe(true)
    expect(await socketIoAdmits(behindProxy.url, forwardedFor('203.0.113.5'))).toBe(false)
    const calls = `${behindProxy.url.replace('http', 'ws')}/ws/calls?appId=demo`
    expect(await upgradeStatus(calls, { headers: forwardedFor('203.0.113.7') })).toBe(101)
    expect(await upgradeStatus(calls, { headers: forwardedFor('203.0.113.6') })).toBe(429)
  })

  it('without TRUST_PROXY, X-Forwarded-For is ignored: nobody picks the address they are counted under', async () => {
    const direct = await relay({ maxConnectionsPerAddress: 1 })
    expect(await socketIoAdmits(direct.url, forwardedFor('203.0.113.5'))).toBe(true)
    expect(await socketIoAdmits(direct.url, forwardedFor('203.0.113.6'))).toBe(false)
  })

  it('only the listed proxies are believed', async () => {
    const elsewhere = await relay({ trustProxy: ['10.0.0.0/8'], maxConnectionsPerAddress: 1 })
    expect(await socketIoAdmits(elsewhere.url, forwardedFor('203.0.113.5'))).toBe(true)
    expect(await socketIoAdmits(elsewhere.url, forwardedFor('203.0.113.6'))).toBe(false)
  })
})

describe('BASE_PATH: the relay mounted under a prefix', () => {
  it('serves the page, health, socket.io, /ws/calls and the SDK under the prefix only', async () => {
    mkdirSync(join(dir, 'page'))
    writeFileSync(join(dir, 'page', 'index.html'), '<!doctype html><title>page</title>')
    const mounted = await relay({ basePath: '/signal', staticDir: join(dir, 'page') })
    const origin = new URL(mounted.url).origin
    expect(mounted.url).toBe(`${origin}/signal`)

    const bare = await fetch(`${origin}/signal`, { redirect: 'manual' })
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/signal/'])
    expect((await fetch(`${origin}/signal/`)).status).toBe(200)
    expect((await fetch(`${origin}/signal/healthz`)).status).toBe(200)
    expect(await (await fetch(`${origin}/signal/readyz`)).json()).toEqual({ status: 'ready' })
    for (const outside of ['/', '/healthz', '/signalx/', '/other/signal/']) expect((await fetch(`${origin}${outside}`)).status, outside).toBe(404)

    expect(await socketIoAdmits(origin, {}, '/signal/socket.io')).toBe(true)
    expect(await socketIoAdmits(origin, {}, '/socket.io')).toBe(false)
    expect(await upgradeStatus(`${origin.replace('http', 'ws')}/signal/ws/calls?appId=demo`)).toBe(101)
    // The relay drops the socket; behind HAProxy (the spread run) the client reads that as 502.
    expect(await upgradeStatus(`${origin.replace('http', 'ws')}/ws/calls?appId=demo`)).toBe(spread ? 502 : 0)

    // The SDK given the mounted URL (as a page served from /signal/ derives it) talks through the prefix.
    const alice = await client(mounted, 'alice')
    const bob = await client(mounted, 'bob')
    const received = new Capture(bob, 'message')
    await bob.subscribe('lobby')
    await alice.subscribe('lobby')
    await alice.publish('lobby', 'hello under /signal')
    expect((await received.next()).message).toBe('hello under /signal')
    alice.logout()
    bob.logout()
  })
})

describe('HTTPS', () => {
  /** The certificate a TLS handshake with `port` presents. */
  function servedFingerprint(port: number, ca: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        resolve(socket.getPeerCertificate().fingerprint256)
        socket.end()
      })
      socket.once('error', reject)
    })
  }

  function httpsGet(url: string, ca: string): Promise<number> {
    return new Promise((resolve, reject) => {
      httpsRequest(url, { ca }, (response) => { response.resume(); resolve(response.statusCode ?? 0) }).once('error', reject).end()
    })
  }

  // Spread: the balancer in front speaks plain HTTP (TLS would end there), and setTls swaps one process's certificate.
  it.skipIf(spread)('serves https and wss, and a new certificate is used for new connections without a restart', async () => {
    const first = await selfSignedCertificate(join(dir, 'a'), ['127.0.0.1', 'localhost'])
    const secure = await relay({ tls: first })
    expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(await httpsGet(`${secure.url}/healthz`, first.cert)).toBe(200)
    expect(await upgradeStatus(`${secure.url.replace('https', 'wss')}/ws/calls?appId=demo`, { ca: first.cert })).toBe(101)
    expect(await servedFingerprint(secure.port, first.cert)).toBe(first.fingerprint)

    const renewed = await selfSignedCertificate(join(dir, 'b'), ['127.0.0.1', 'localhost'])
    secure.setTls(renewed)
    expect(await servedFingerprint(secure.port, renewed.cert)).toBe(renewed.fingerprint)
  })

  it('the systemd unit\'s command and environment: TLS_CERT/TLS_KEY reloaded on SIGHUP, drained and exited 0 on SIGTERM', async () => {
    const certDir = join(dir, 'certs')
    const first = await selfSignedCertificate(join(dir, 'a'), ['127.0.0.1', 'localhost'])
    mkdirSync(certDir)
    writeFileSync(join(certDir, 'cert.pem'), first.cert)
    writeFileSync(join(certDir, 'key.pem'), first.key)
    const port = await freePort()
    // Exactly what deploy/systemd/signal-kit.service runs, with this test's port, folder and certificate.
    const unit = systemdUnit()
    const relayProcess = spawn(process.execPath, unit.execArgs, {
      cwd: projectRoot,
      env: { ...process.env, ...unit.environment, PORT: String(port), DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'info', TLS_CERT: join(certDir, 'cert.pem'), TLS_KEY: join(certDir, 'key.pem') },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(relayProcess)
    const output = linesOf(relayProcess)
    await output.next((line) => line.includes('durable store'))
    expect(await httpsGet(`https://127.0.0.1:${port}${unit.environment.BASE_PATH}/readyz`, first.cert)).toBe(200)
    expect(await servedFingerprint(port, first.cert)).toBe(first.fingerprint)

    const renewed = await selfSignedCertificate(join(dir, 'b'), ['127.0.0.1', 'localhost'])
    writeFileSync(join(certDir, 'cert.pem'), renewed.cert)
    writeFileSync(join(certDir, 'key.pem'), renewed.key)
    relayProcess.kill('SIGHUP')
    await output.next((line) => line.includes('TLS certificate reloaded'))
    expect(await servedFingerprint(port, renewed.cert)).toBe(renewed.fingerprint)
    expect(relayProcess.exitCode).toBe(null)

    const exited = new Promise<number | null>((resolve) => relayProcess.once('exit', (code) => resolve(code)))
    relayProcess.kill('SIGTERM')
    expect(await exited).toBe(0)
    await output.next((line) => line.includes('drained; exiting'))
  })
})

describe('SIGTERM drains', () => {
  it('clients are told to go and retry by themselves (not fail), and the process exits 0 once drained', async () => {
    const relayProcess = await RelayChild.start({ logLevel: 'info' })
    try {
      const alice = await client(relayProcess.url, 'alice')
      const links = new Capture(alice, 'linkState')
      await alice.storage.setUserMetadata([{ key: 'status', value: 'kept' }])

      process.kill(relayProcess.pid, 'SIGTERM')
      const exit = await relayProcess.exited
      expect(exit).toMatchObject({ code: 0, signal: null })
      expect(relayProcess.tail).toContain('"msg":"draining"')
      expect(relayProcess.tail).toContain('"msg":"drained; exiting"')
      const dropped = await links.next((event) => event.currentState !== 'CONNECTED')
      expect(dropped).toMatchObject({ currentState: 'DISCONNECTED', operation: 'AUTO_RECONNECT' }) // seed 000: retrying by itself
      alice.logout()
    } finally {
      await relayProcess.stop()
    }
  })
})

/** ExecStart's node arguments and the Environment= lines of deploy/systemd/signal-kit.service. */
function systemdUnit(): { execArgs: string[]; environment: Record<string, string> } {
  const text = readFileSync(join(projectRoot, 'deploy', 'systemd', 'signal-kit.service'), 'utf8')
  const exec = /^ExecStart=\/usr\/bin\/node (.+)$/m.exec(text)
  if (!exec) throw new Error('the unit\'s ExecStart no longer runs /usr/bin/node')
  const environment = Object.fromEntries([...text.matchAll(/^Environment=(\w+)=(.*)$/gm)].map((match) => [match[1], match[2]]))
  return { execArgs: exec[1].split(' '), environment }
}

/** The lines a child prints (stdout and stderr); `next` waits for the first seen or future match. */
function linesOf(child: ChildProcess) {
  const seen: string[] = []
  let waiters: { match: (line: string) => boolean; resolve: () => void }[] = []
  const take = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      seen.push(line)
      waiters = waiters.filter((waiter) => (waiter.match(line) ? (waiter.resolve(), false) : true))
    }
  }
  child.stdout!.on('data', take)
  child.stderr!.on('data', take)
  return {
    next(match: (line: string) => boolean): Promise<void> {
      if (seen.some(match)) return Promise.resolve()
      return new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`the relay exited (${code}) first:\n${seen.join('\n')}`)))
        waiters.push({ match, resolve })
      })
    },
  }
}
