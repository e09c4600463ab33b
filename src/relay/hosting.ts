import proxyAddr from 'proxy-addr'
import { normalizeBasePath } from './server'

/** How long SIGTERM may take to drain (disconnect clients, finish commits) before the process exits anyway. */
export const DRAIN_TIMEOUT_MS = 10_000

/** Where and how `npm start` listens (README "Hosting"). */
export interface Hosting {
  host: string
  port: number
  /** null: plain HTTP; 'self-signed': a certificate made and kept in DATA_DIR; 'files': TLS_CERT and TLS_KEY. */
  tls: null | 'self-signed' | 'files'
  tlsCertPath?: string
  tlsKeyPath?: string
  basePath: string
  trustProxy: string[]
  drainTimeoutMs: number
  /** Listening on every interface (`0.0.0.0` / `::`): print every address a visitor can use. */
  allInterfaces: boolean
}

/**
 * Reads HOST, PORT, HTTPS, TLS_CERT, TLS_KEY, BASE_PATH, TRUST_PROXY and DRAIN_TIMEOUT_MS,
 * and `--lan` (HOST=0.0.0.0 HTTPS=1: a LAN demo in one command). Throws a one-line
 * message naming the variable that is wrong.
 */
export function hostingFromEnv(env: NodeJS.ProcessEnv, argv: readonly string[] = []): Hosting {
  const lan = argv.includes('--lan')
  const host = env.HOST || (lan ? '0.0.0.0' : '127.0.0.1')
  if (Boolean(env.TLS_CERT) !== Boolean(env.TLS_KEY)) throw new Error('TLS_CERT and TLS_KEY go together: set both (PEM files) or neither')
  const tls = env.TLS_CERT ? 'files' : lan || isOn('HTTPS', env.HTTPS) ? 'self-signed' : null
  const port = env.PORT ? Number(env.PORT) : tls ? 8443 : 8080
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a number from 0 to 65535, not "${env.PORT}"`)
  const trustProxy = (env.TRUST_PROXY ?? '').split(',').map((entry) => entry.trim()).filter(Boolean)
  try {
    proxyAddr.compile(trustProxy)
  } catch (error) {
    throw new Error(`TRUST_PROXY must list proxy addresses, CIDR ranges or loopback/linklocal/uniquelocal: ${(error as Error).message}`)
  }
  const drainTimeoutMs = env.DRAIN_TIMEOUT_MS ? Number(env.DRAIN_TIMEOUT_MS) : DRAIN_TIMEOUT_MS
  if (!Number.isInteger(drainTimeoutMs) || drainTimeoutMs <= 0) throw new Error(`DRAIN_TIMEOUT_MS must be a positive number of milliseconds, not "${env.DRAIN_TIMEOUT_MS}"`)
  return {
    host, port, tls,
    tlsCertPath: env.TLS_CERT || undefined,
    tlsKeyPath: env.TLS_KEY || undefined,
    basePath: normalizeBasePath(env.BASE_PATH),
    trustProxy,
    drainTimeoutMs,
    allInterfaces: host === '0.0.0.0' || host === '::',
  }
}

function isOn(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false
  if (value === '1' || value === 'true') return true
  throw new Error(`${name} must be 1 or 0, not "${value}"`)
}
