import type { EngineConfig } from '../engine/app-engine'
import type { Rate } from '../engine/rate-limit'
import { MAX_ROOM_MEMBERS, ROOM_HEARTBEAT_INTERVAL_MS } from '../protocol/room-codes'

/** ROOM_HEARTBEAT_TIMEOUT_MS bounds: two SDK heartbeat intervals at least, or members that do heartbeat are dropped; an hour at most. */
export const MIN_ROOM_HEARTBEAT_TIMEOUT_MS = 2 * ROOM_HEARTBEAT_INTERVAL_MS
export const MAX_ROOM_HEARTBEAT_TIMEOUT_MS = 3_600_000

export interface LimitOptions {
  requestRate?: Rate
  maxConnectionsPerAddress?: number
  engine?: Partial<EngineConfig>
}

/**
 * The limits an operator may change from the environment of `npm start` (README
 * "Security model and limits"): REQUEST_RATE and PUBLISH_RATE as `perSecond/burst`,
 * MAX_CONNECTIONS_PER_ADDRESS as a count (0 = none), and for seed 003's rooms
 * ROOM_HEARTBEAT_TIMEOUT_MS (a silent member is removed after it) and ROOM_PUBLISHER_CAP
 * (m2m members publish on join while fewer publish). Unset keeps the defaults.
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv): LimitOptions {
  const limits: LimitOptions = {}
  const engine: Partial<EngineConfig> = {}
  const requestRate = parseRate('REQUEST_RATE', env.REQUEST_RATE)
  if (requestRate) limits.requestRate = requestRate
  const publishRate = parseRate('PUBLISH_RATE', env.PUBLISH_RATE)
  if (publishRate) engine.publishRate = publishRate
  const heartbeatTimeout = parseWhole('ROOM_HEARTBEAT_TIMEOUT_MS', env.ROOM_HEARTBEAT_TIMEOUT_MS, MIN_ROOM_HEARTBEAT_TIMEOUT_MS, MAX_ROOM_HEARTBEAT_TIMEOUT_MS, 'milliseconds')
  if (heartbeatTimeout !== undefined) engine.roomHeartbeatTimeoutMs = heartbeatTimeout
  const publisherCap = parseWhole('ROOM_PUBLISHER_CAP', env.ROOM_PUBLISHER_CAP, 1, MAX_ROOM_MEMBERS, 'publishers')
  if (publisherCap !== undefined) engine.roomPublisherCap = publisherCap
  if (Object.keys(engine).length > 0) limits.engine = engine
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

function parseWhole(name: string, text: string | undefined, min: number, max: number, unit: string): number | undefined {
  if (!text) return undefined
  const value = Number(text.trim())
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw new Error(`${name} must be a whole number of ${unit} from ${min} to ${max}, not "${text}"`)
  return value
}
