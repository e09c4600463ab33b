import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { SqliteStore, StoreOpenError } from '../store/sqlite-store'
import { limitsFromEnv } from './env-limits'
import { parseAllowedOrigins } from './http-policy'
import { startRelay } from './server'

/**
 * `npm start`: the relay serving the built page; PORT, HOST, TOKEN_SECRET, LOG_LEVEL,
 * DATA_DIR, ALLOWED_ORIGINS, REQUEST_RATE, PUBLISH_RATE, MAX_CONNECTIONS_PER_ADDRESS from the environment.
 */
const staticDir = fileURLToPath(new URL('../../dist', import.meta.url))
/** Metadata and lock definitions live here (SQLite); default `data/` in the project folder. */
const dataDir = process.env.DATA_DIR || fileURLToPath(new URL('../../data', import.meta.url))
const port = Number(process.env.PORT ?? 8080)
const host = process.env.HOST ?? '127.0.0.1'
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' })

/** A startup problem is the operator's to fix: one line saying what and where, no stack trace, exit 1. */
function exitWith(line: string): never {
  process.stderr.write(`signal-kit relay: ${line}\n`)
  process.exit(1)
}

const store = await SqliteStore.open(dataDir).catch((error: unknown) =>
  exitWith(error instanceof StoreOpenError ? error.message : `cannot open the store in DATA_DIR ${dataDir}: ${firstLine(error)}`))

const limits = (() => {
  try {
    return limitsFromEnv(process.env)
  } catch (error) {
    return exitWith(firstLine(error))
  }
})()

const relay = await startRelay({
  ...limits,
  port,
  host,
  tokenSecret: process.env.TOKEN_SECRET || undefined,
  allowedOrigins: parseAllowedOrigins(process.env.ALLOWED_ORIGINS),
  staticDir,
  store,
  logger,
  onStoreFailure: () => process.exit(1),
}).catch((error: unknown) => exitWith(listenFailure(error)))
relay.logger.info({ dataDir }, 'durable store (metadata, locks)')

// A bug in one request must not take every user down: log it (one entry) and keep serving.
// A failed store commit does not come through here: the host stops the relay and
// onStoreFailure exits 1, since its memory is then ahead of the disk.
process.on('uncaughtException', (error) => logger.error({ err: error }, 'uncaught exception; the relay keeps serving'))
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection; the relay keeps serving'))

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    relay.logger.info({ signal }, 'shutting down')
    void relay.close().then(() => process.exit(0))
  })
}

function listenFailure(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : ''
  const where = `${host}:${process.env.PORT ?? 8080}`
  switch (code) {
    case 'EADDRINUSE': return `cannot listen on ${where} (PORT/HOST): the address is already in use`
    case 'EACCES': return `cannot listen on ${where} (PORT/HOST): permission denied (ports below 1024 need privileges)`
    case 'EADDRNOTAVAIL': return `cannot listen on ${where} (PORT/HOST): HOST is not an address of this machine`
    case 'ERR_SOCKET_BAD_PORT': return `cannot listen on ${where}: PORT must be a number from 0 to 65535`
    default: return `the relay failed to start: ${firstLine(error)}`
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]
}
