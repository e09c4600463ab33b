import type { EngineConfig } from '../engine/app-engine'
import type { Rate } from '../engine/rate-limit'

export interface LimitOptions {
  requestRate?: Rate
  maxConnectionsPerAddress?: number
  engine?: Partial<EngineConfig>
}

/**
 * The limits an operator may change from the environment of `npm start` (README
 * "Security model and limits"): REQUEST_RATE and PUBLISH_RATE as `perSecond/burst`,
 * MAX_CONNECTIONS_PER_ADDRESS as a count (0 = none). Unset keeps the defaults.
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv): LimitOptions {
  const limits: LimitOptions = {}
  const requestRate = parseRate('REQUEST_RATE', env.REQUEST_RATE)
  if (requestRate) limits.requestRate = requestRate
  const publishRate = parseRate('PUBLISH_RATE', env.PUBLISH_RATE)
  if (publishRate) limits.engine = { publishRate }
  if (env.MAX_CONNECTIONS_PER_ADDRESS) {
    const count = Number(env.MAX_CONNECTIONS_PER_ADDRESS)
    if (!Number.isInteger(count) || count < 0) throw new Error(`MAX_CONNECTIONS_PER_ADDRESS must be a whole number (0 = no limit), not "${env.MAX_CONNECTIONS_PER_ADDRESS}"`)
    limits.maxConnectionsPerAddress = count
  }
  return limits
}

function parseRate(name: string, text: string | undefined): Rate | undefined {
  if (!text) return undefined
  const match = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(text.trim())
  if (!match || Number(match[1]) <= 0 || Number(match[2]) < 1) throw new Error(`${name} must be "perSecond/burst", e.g. "100/200", not "${text}"`)
  return { perSecond: Number(match[1]), burst: Number(match[2]) }
}
