import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'

/**
 * Debian's redis-server and HAProxy run from a temp folder on loopback, never as system
 * services: for `npm run cluster`, the scaled-mode tests and the cluster bench.
 */
export const REDIS_BINARY = '/usr/bin/redis-server'
export const HAPROXY_BINARY = '/usr/sbin/haproxy'
/** Both start in milliseconds; a loaded 2-core box may take longer. */
const START_TIMEOUT_MS = 15_000
const STOP_GRACE_MS = 5_000

/** A free TCP port on 127.0.0.1 (the OS picks; released before the caller binds it). bench/lib/free-port.ts passes it on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

export interface RedisProcess {
  url: string
  port: number
  dir: string
  child: ChildProcess
  /** SIGTERM (Redis flushes its append-only file) and wait for the exit. */
  stop(): Promise<void>
  /** SIGKILL: a crash, nothing flushed beyond what `appendfsync always` already made durable. */
  kill(): Promise<void>
  /** Starts again on the same port and folder: the append-only file is read back. */
  restart(): Promise<void>
  /** Stops and removes the folder. */
  destroy(): Promise<void>
}

/**
 * Redis with `appendfsync always` (every write fsynced before Redis answers: what lets a
 * relay acknowledge a commit) and no RDB snapshots.
 */
export async function startRedis(options: { port?: number; dir?: string } = {}): Promise<RedisProcess> {
  const port = options.port ?? await freePort()
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'signal-kit-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning']
  const launch = async () => {
    const child = spawn(REDIS_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    await untilAnswers(child, port)
    return child
  }
  const handle: RedisProcess = {
    url: `redis://127.0.0.1:${port}`, port, dir, child: await launch(),
    stop: () => stopChild(handle.child, 'SIGTERM'),
    kill: () => stopChild(handle.child, 'SIGKILL'),
    async restart() {
      await stopChild(handle.child, 'SIGTERM')
      handle.child = await launch()
    },
    async destroy() {
      await stopChild(handle.child, 'SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return handle
}

async function untilAnswers(child: ChildProcess, port: number): Promise<void> {
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const deadline = Date.now() + START_TIMEOUT_MS
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => undefined)
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${stderr.trim()}`)
      try {
        if (probe.status !== 'ready') await probe.connect()
        // Loading a large append-only file answers LOADING until it is done.
        if ((await probe.ping()) === 'PONG') return
      } catch {
        probe.disconnect()
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    throw new Error(`redis-server did not answer on port ${port} within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`)
  } finally {
    probe.disconnect()
  }
}

export interface Balancer {
  url: string
  port: number
  child: ChildProcess
  stop(): Promise<void>
}

/** A relay behind the balancer: where it listens, and (optionally) its name in HAProxy's logs. */
export interface Backend { port: number; name?: string }

/**
 * HAProxy in front of the relays: round robin for every connection, health-checked on
 * /readyz every 500 ms (a draining or dead relay gets no new clients; a connection that
 * finds one dead is redispatched). /peerjs is hashed by app (the part of the peer id before
 * its last '-'), so one mesh's browsers meet on one relay's PeerJS broker.
 */
export async function startBalancer(backends: Backend[], options: { port?: number; basePath?: string } = {}): Promise<Balancer> {
  const port = options.port ?? await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'signal-kit-haproxy-'))
  const config = join(dir, 'haproxy.cfg')
  writeFileSync(config, balancerConfig(port, backends, options.basePath ?? ''))
  const child = spawn(HAPROXY_BINARY, ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${stderr.trim()}`)
    const answered = await fetch(`http://127.0.0.1:${port}${options.basePath ?? ''}/readyz`).then((response) => response.ok, () => false)
    if (answered) break
    if (Date.now() > deadline) throw new Error(`haproxy did not serve /readyz on port ${port} within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `http://127.0.0.1:${port}${options.basePath ?? ''}`, port, child,
    async stop() {
      await stopChild(child, 'SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The configuration users deploy; `npm run cluster` and the tests use it with their own ports. */
export const BALANCER_CONFIG_FILE = fileURLToPath(new URL('../../../deploy/haproxy/signal-kit.cfg', import.meta.url))

/**
 * deploy/haproxy/signal-kit.cfg with only its `bind` address and its relays replaced: one
 * `server` line per backend in each backend section, and one `use-server` line per relay
 * (a long-polling session's requests go to the relay that holds it; server names must be
 * the relays' RELAY_NAMEs, as the session ids start with them).
 */
export function balancerConfig(port: number, backends: Backend[], basePath = ''): string {
  const names = backends.map((backend, index) => backend.name ?? `relay${index + 1}`)
  const servers = names.map((name, index) => `  server ${name} 127.0.0.1:${backends[index].port} check`).join('\n')
  const stickiness = names.map((name) => `  use-server ${name} if { url_param(sid) -m beg ${name}. }`).join('\n')
  const lines = readFileSync(BALANCER_CONFIG_FILE, 'utf8').split('\n')
  const out: string[] = []
  for (const line of lines) {
    if (/^\s*bind /.test(line)) out.push(`  bind 127.0.0.1:${port}`)
    else if (/^\s*use-server /.test(line)) {
      if (!out.includes(stickiness)) out.push(stickiness)
    } else if (/^\s*server /.test(line)) {
      if (out[out.length - 1] !== servers) out.push(servers)
    } else out.push(basePath ? line.replace(/(path_beg |GET )\//, `$1${basePath}/`) : line)
  }
  return out.join('\n')
}

/** Sends `signal` and resolves at the exit; a child still running `graceMs` later gets SIGKILL. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = STOP_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(force)
      resolve()
    })
    child.kill(signal)
  })
}
