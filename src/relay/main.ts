import { readFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { SqliteStore, StoreOpenError } from '../store/sqlite-store'
import { limitsFromEnv, sfuFromEnv } from './env-limits'
import { hostingFromEnv } from './hosting'
import { parseAllowedOrigins } from './http-policy'
import { iceConfigFromEnv } from './ice-config'
import { lanAddresses, lanBanner, lanUrls, selfSignedCertificate } from './lan'
import { startRelay, type TlsPair } from './server'

/**
 * `npm start`: the relay serving the built page. `npm start -- --lan`: the same on every
 * interface over HTTPS with a certificate made on first run. The environment (README
 * "Configuration" and "Hosting"): PORT, HOST, HTTPS, TLS_CERT, TLS_KEY, BASE_PATH,
 * TRUST_PROXY, DRAIN_TIMEOUT_MS, TOKEN_SECRET, LOG_LEVEL, DATA_DIR, STATIC_DIR, ALLOWED_ORIGINS,
 * REQUEST_RATE, PUBLISH_RATE, MAX_CONNECTIONS_PER_ADDRESS, ROOM_HEARTBEAT_TIMEOUT_MS,
 * ROOM_PUBLISHER_CAP, ICE_SERVERS, TURN_SECRET, TURN_URLS, TURN_TTL, ICE_TRANSPORT_POLICY,
 * REDIS_URL, REDIS_PREFIX, RELAY_NAME, SFU_WORKERS, SFU_LAG_BUDGET_MS, SFU_ANNOUNCED_ADDRESS,
 * SFU_UDP_PORTS, SFU_INTERFACE_ADDRESS.
 */
/** The built page (`vite build`), read once at start; default `dist/` in the project. */
const staticDir = process.env.STATIC_DIR || fileURLToPath(new URL('../../dist', import.meta.url))
/** Metadata and lock definitions live here (SQLite); default `data/` in the project folder. */
const dataDir = process.env.DATA_DIR || fileURLToPath(new URL('../../data', import.meta.url))
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' })

/** A startup problem is the operator's to fix: one line saying what and where, no stack trace, exit 1. */
function exitWith(line: string): never {
  process.stderr.write(`signal-kit relay: ${line}\n`)
  process.exit(1)
}

/** Scaled mode (README "Scaled mode"): state lives in Redis, partitioned per app; no SQLite. */
const cluster = process.env.REDIS_URL
  ? { redisUrl: process.env.REDIS_URL, prefix: process.env.REDIS_PREFIX || undefined, processId: process.env.RELAY_NAME || undefined }
  : undefined
const store = cluster ? undefined : await SqliteStore.open(dataDir).catch((error: unknown) =>
  exitWith(error instanceof StoreOpenError ? error.message : `cannot open the store in DATA_DIR ${dataDir}: ${firstLine(error)}`))

const [limits, hosting, ice, sfu] = (() => {
  try {
    return [limitsFromEnv(process.env), hostingFromEnv(process.env, process.argv.slice(2)), iceConfigFromEnv(process.env), sfuFromEnv(process.env)] as const
  } catch (error) {
    return exitWith(firstLine(error))
  }
})()
const { host, port } = hosting

/** Every interface's addresses when listening on all of them: the certificate names them and the banner lists them. */
const interfaceAddresses = hosting.allInterfaces ? lanAddresses() : null
const certificateNames = interfaceAddresses ? [...interfaceAddresses, os.hostname()] : [host, 'localhost', '127.0.0.1']
const selfSigned = hosting.tls === 'self-signed'
  ? await selfSignedCertificate(dataDir, certificateNames).catch((error: unknown) => exitWith(`cannot make a TLS certificate in DATA_DIR ${dataDir}: ${firstLine(error)}`))
  : null
const tls = selfSigned ?? (hosting.tls === 'files' ? readTlsFiles() : undefined)
if (tls === null) exitWith(`cannot read TLS_CERT ${hosting.tlsCertPath} / TLS_KEY ${hosting.tlsKeyPath}`)

const relay = await startRelay({
  ...limits,
  port,
  host,
  tls,
  basePath: hosting.basePath,
  trustProxy: hosting.trustProxy,
  tokenSecret: process.env.TOKEN_SECRET || undefined,
  ice,
  allowedOrigins: parseAllowedOrigins(process.env.ALLOWED_ORIGINS),
  staticDir,
  store,
  cluster,
  sfu,
  logger,
  onStoreFailure: () => process.exit(1),
}).catch((error: unknown) => exitWith(listenFailure(error)))
if (!cluster) relay.logger.info({ dataDir }, 'durable store (metadata, locks)')
if (ice.turn && !process.env.TOKEN_SECRET) {
  relay.logger.warn({ turnUrls: ice.turn.urls }, 'TURN_SECRET without TOKEN_SECRET: anyone who can reach the relay gets TURN credentials (open mode)')
}
if (selfSigned) {
  const urls = interfaceAddresses ? lanUrls(interfaceAddresses, relay.port, hosting.basePath) : [`${relay.url}/`]
  process.stdout.write(`\n${await lanBanner(urls, selfSigned.fingerprint)}\n\n`)
}

// A renewed certificate (certbot's deploy hook: `systemctl reload`, i.e. SIGHUP) is used for new connections without a restart.
process.on('SIGHUP', () => {
  if (hosting.tls !== 'files') return relay.logger.info('SIGHUP: nothing to reload (no TLS_CERT/TLS_KEY)')
  const renewed = readTlsFiles()
  if (!renewed) return // logged; the old certificate stays
  try {
    relay.setTls(renewed)
    relay.logger.info({ cert: hosting.tlsCertPath }, 'TLS certificate reloaded')
  } catch (error) {
    relay.logger.error({ err: error }, 'the new TLS certificate was refused; the old one stays')
  }
})

// A bug in one request must not take every user down: log it (one entry) and keep serving.
// A failed store commit does not come through here: the host stops the relay and
// onStoreFailure exits 1, since its memory is then ahead of the disk.
process.on('uncaughtException', (error) => logger.error({ err: error }, 'uncaught exception; the relay keeps serving'))
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection; the relay keeps serving'))

// A supervisor's stop (SIGTERM) or Ctrl-C drains: /readyz turns 503, clients are told to go
// (they reconnect elsewhere or here after the restart and resume), commits finish, the store
// closes. Bounded: past DRAIN_TIMEOUT_MS, or on a second signal, the process exits anyway.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (relay.draining) {
      relay.logger.warn({ signal }, 'second signal while draining; exiting now')
      process.exit(1)
    }
    relay.logger.info({ signal, boundMs: hosting.drainTimeoutMs }, 'draining')
    setTimeout(() => {
      relay.logger.error({ boundMs: hosting.drainTimeoutMs }, 'drain did not finish in time; exiting')
      process.exit(1)
    }, hosting.drainTimeoutMs)
    void relay.close().then(() => {
      relay.logger.info('drained; exiting')
      process.exit(0)
    })
  })
}

/** TLS_CERT and TLS_KEY as read now, or null (logged) when either cannot be read. */
function readTlsFiles(): TlsPair | null {
  try {
    return { cert: readFileSync(hosting.tlsCertPath!), key: readFileSync(hosting.tlsKeyPath!) }
  } catch (error) {
    logger.error({ err: error }, 'cannot read TLS_CERT / TLS_KEY')
    return null
  }
}

function listenFailure(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : ''
  const where = `${host}:${port}`
  switch (code) {
    case 'EADDRINUSE': return `cannot listen on ${where} (PORT/HOST): the address is already in use`
    case 'EACCES': return `cannot listen on ${where} (PORT/HOST): permission denied (ports below 1024 need privileges)`
    case 'EADDRNOTAVAIL': return `cannot listen on ${where} (PORT/HOST): HOST is not an address of this machine`
    default: return `the relay failed to start: ${firstLine(error)}`
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]
}
