import { CALL_ERRORS } from '../../src/protocol/calls'
import { CallsClient } from './calls-client'
import { mustBeRefused, type CallsItem } from './calls-frames'
import { preview } from './json-text'
import type { Ledger } from './ledger'
import { ANSWER_TIMEOUT_MS } from './native-session'
import type { RelayChild } from '../../bench/lib/relay-child'
import { until } from './waiting'
import { itemPreview } from './ws-frames'
import { closeSettled, recordShortfall, sendAll } from './ws-session'

/** seed 002's error codes as our call table lists them (src/protocol/call-codes.ts). */
export const CALL_CODES = new Set<number>(Object.values(CALL_ERRORS).map(([code]) => code))
/** The code for "too many frames per second", if the table has one (its name says RATE). */
const CALLS_RATE_CODE = Object.entries(CALL_ERRORS).find(([name]) => /RATE/.test(name))?.[1][0]

/**
 * Sends one fuzz connection's frames to /ws/calls in one burst (fewer than the per-second
 * frame allowance) and checks that at least every malformed one got `{cmd:'error', code}`
 * with a code of the call table, and that no error carries another code — or that the
 * relay closed the socket first (frames over 256 KiB close it with 1009).
 */
export async function runCallsSession(relay: RelayChild, items: CallsItem[], ledger: Ledger): Promise<void> {
  const client = await relay.orDeath(CallsClient.open(relay.wsUrl), ANSWER_TIMEOUT_MS, 'a /ws/calls connection')
  ledger.sessions++
  const refusals = sendAll(client, items, ledger, mustBeRefused)
  const errors = () => client.inbox.filter((frame) => frame.cmd === 'error')
  await relay.orDeath(until(() => errors().length >= refusals || !client.open, ANSWER_TIMEOUT_MS, 'errors for malformed /ws/calls frames').catch(() => undefined), ANSWER_TIMEOUT_MS + 1000, '/ws/calls answers')
  await closeSettled(client, '/ws/calls')
  const got = errors()
  let rateLimited = 0
  for (const frame of got) {
    if (typeof frame.code !== 'number' || !CALL_CODES.has(frame.code)) ledger.bad(preview(JSON.stringify(frame), 200))
    else ledger.tally(frame.code)
    if (frame.code === CALLS_RATE_CODE) rateLimited++
  }
  // Errors beyond the malformed frames' answer valid frames the engine refused (NO_SID, UNKNOWN_SESSION …).
  ledger.answered += Math.min(got.length, refusals)
  ledger.rateLimited += Math.min(rateLimited, refusals)
  recordShortfall(ledger, client, refusals, got.length, (short) =>
    `${short} of ${refusals} malformed frames unanswered; among them ${items.filter(mustBeRefused).map(itemPreview).slice(0, 3).join(' | ')}`)
  client.close()
}
