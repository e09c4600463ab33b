import { z } from 'zod'
import type { EngineConfig } from '../engine/app-engine'
import { DEFAULT_RETENTION, type Retention } from '../engine/history'
import type { Rate } from '../engine/rate-limit'
import { MAX_ROOM_MEMBERS, ROOM_HEARTBEAT_INTERVAL_MS } from '../protocol/room-codes'

/** ROOM_HEARTBEAT_TIMEOUT_MS bounds: two SDK heartbeat intervals at least, or members that do heartbeat are dropped; an hour at most. */
export const MIN_ROOM_HEARTBEAT_TIMEOUT_MS = 2 * ROOM_HEARTBEAT_INTERVAL_MS
export const MAX_ROOM_HEARTBEAT_TIMEOUT_MS = 3_600_000
/** HISTORY_MAX_MESSAGES bounds (README): messages kept per channel or conversation. */
export const MAX_HISTORY_MESSAGES = 100_000
/** HISTORY_MAX_AGE_S bounds: a year at most. */
export const MAX_HISTORY_AGE_S = 31_536_000
/** HISTORY_MAX_BYTES lower bound: below it one page of history (PAGE_BYTES) would not fit. */
export const MIN_HISTORY_BYTES = 1024 * 1024

/** One app's entry of HISTORY_RETENTION_BY_APP: either field, in the units of the two variables above. */
const appRetention = z.strictObject({
  maxMessages: z.number().int().min(1).max(MAX_HISTORY_MESSAGES).optional(),
  maxAgeSeconds: z.number().int().min(1).max(MAX_HISTORY_AGE_S).optional(),
}).refine((entry) => entry.maxMessages !== undefined || entry.maxAgeSeconds !== undefined, 'give maxMessages, maxAgeSeconds or both')
const retentionByApp = z.record(z.string().min(1), appRetention)

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
 * (m2m members publish on join while fewer publish). Message history (issue 16):
 * HISTORY_MAX_MESSAGES and HISTORY_MAX_AGE_S (seconds) per channel, HISTORY_RETENTION_BY_APP
 * (JSON, an app's own), HISTORY_MAX_BYTES (all apps). Unset keeps the defaults.
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
  const historyMessages = parseWhole('HISTORY_MAX_MESSAGES', env.HISTORY_MAX_MESSAGES, 1, MAX_HISTORY_MESSAGES, 'messages')
  const historyAge = parseWhole('HISTORY_MAX_AGE_S', env.HISTORY_MAX_AGE_S, 1, MAX_HISTORY_AGE_S, 'seconds')
  if (historyMessages !== undefined || historyAge !== undefined) {
    // The engine takes a whole Retention: an unset half keeps its default.
    engine.historyRetention = {
      maxMessages: historyMessages ?? DEFAULT_RETENTION.maxMessages,
      maxAgeMs: historyAge !== undefined ? historyAge * 1000 : DEFAULT_RETENTION.maxAgeMs,
    }
  }
  const historyBytes = parseWhole('HISTORY_MAX_BYTES', env.HISTORY_MAX_BYTES, MIN_HISTORY_BYTES, Number.MAX_SAFE_INTEGER, 'bytes')
  if (historyBytes !== undefined) engine.historyMaxBytes = historyBytes
  const byApp = parseRetentionByApp(env.HISTORY_RETENTION_BY_APP)
  if (byApp) engine.historyRetentionByApp = byApp
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

/** `{"<appId>": {"maxMessages": n, "maxAgeSeconds": s}}` → the engine's per-app retention (ms). */
function parseRetentionByApp(text: string | undefined): Record<string, Partial<Retention>> | undefined {
  if (!text) return undefined
  const expected = 'HISTORY_RETENTION_BY_APP must be JSON like {"<appId>": {"maxMessages": 500, "maxAgeSeconds": 3600}}'
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new Error(`${expected}; it is not JSON (${(error as Error).message})`)
  }
  const parsed = retentionByApp.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`${expected}; at ${issue.path.map(String).join('.') || 'the top'}: ${issue.message}`)
  }
  const byApp: Record<string, Partial<Retention>> = {}
  for (const [appId, { maxMessages, maxAgeSeconds }] of Object.entries(parsed.data)) {
    // Only the fields given: the engine spreads them over the default retention.
    byApp[appId] = {
      ...(maxMessages !== undefined ? { maxMessages } : {}),
      ...(maxAgeSeconds !== undefined ? { maxAgeMs: maxAgeSeconds * 1000 } : {}),
    }
  }
  return byApp
}

function parseWhole(name: string, text: string | undefined, min: number, max: number, unit: string): number | undefined {
  if (!text) return undefined
  const value = Number(text.trim())
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw new Error(`${name} must be a whole number of ${unit} from ${min} to ${max}, not "${text}"`)
  return value
}

/** SFU_UDP_PORTS, "min-max": the UDP ports SFU workers gather on. */
export function udpPortRange(text: string): [number, number] {
  const match = /^(\d+)-(\d+)$/.exec(text.trim())
  const [min, max] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN]
  if (!(min >= 1 && min < max && max <= 65_535)) throw new Error(`SFU_UDP_PORTS must be a range like 40000-40999 (min < max ≤ 65535), not "${text}"`)
  return [min, max]
}

/** Defaults of the SFU room engine (README "Rooms: the SFU"). */
export const DEFAULT_SFU_WORKERS = 1
export const DEFAULT_SFU_LAG_BUDGET_MS = 100

/**
 * The SFU's settings: SFU_WORKERS (worker processes, 0 turns SFU rooms off; default 1),
 * SFU_LAG_BUDGET_MS (a worker whose event loop lags more takes no new members), and what the
 * workers read themselves: SFU_ANNOUNCED_ADDRESS, SFU_UDP_PORTS, SFU_INTERFACE_ADDRESS.
 */
export function sfuFromEnv(env: Record<string, string | undefined>): { workers: number; lagBudgetMs: number; env: Record<string, string> } | undefined {
  const workers = parseWhole('SFU_WORKERS', env.SFU_WORKERS, 0, 16, 'worker processes') ?? DEFAULT_SFU_WORKERS
  if (workers === 0) return undefined
  const lagBudgetMs = parseWhole('SFU_LAG_BUDGET_MS', env.SFU_LAG_BUDGET_MS, 10, 5000, 'milliseconds') ?? DEFAULT_SFU_LAG_BUDGET_MS
  if (env.SFU_UDP_PORTS?.trim()) udpPortRange(env.SFU_UDP_PORTS) // refused at start, not in every worker
  const passed: Record<string, string> = {}
  for (const name of ['SFU_ANNOUNCED_ADDRESS', 'SFU_UDP_PORTS', 'SFU_INTERFACE_ADDRESS']) if (env[name]) passed[name] = env[name]!.trim()
  return { workers, lagBudgetMs, env: passed }
}
