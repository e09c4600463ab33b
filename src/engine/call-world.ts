import { parseCallMessage, type CallServerMessage } from '../protocol/calls'
import { CLU_INTERVAL_MS, Calls, DEFAULT_CALL_TIMINGS, type CallTimings } from './calls'
import { Effects } from './effects'

/**
 * A fake world: one app's Calls registry, connections by name, every call message each one
 * received, and a clock. By default each frame arrives CLU_INTERVAL_MS after the previous
 * one, so every list change is sent at once; `step: 0` makes frames arrive together.
 */
export function world({ step = CLU_INTERVAL_MS, timings = DEFAULT_CALL_TIMINGS }: { step?: number; timings?: CallTimings } = {}) {
  const calls = new Calls(timings)
  const inbox = new Map<string, CallServerMessage[]>()
  /** userIds of the app's logged-in users (who anonymous clients may not impersonate). */
  const users = new Set<string>()
  let nextId = 1
  let now = 1000
  const record = (fx: Effects) => {
    for (const { to, event } of fx.sends) {
      if (event.kind !== 'call') throw new Error(`unexpected event ${event.kind}`)
      for (const conn of to) inbox.set(conn, [...(inbox.get(conn) ?? []), event.msg])
    }
  }
  return {
    calls,
    users,
    get now() { return now },
    /** Sends a raw frame as `userId` (null: an anonymous client); returns only what this frame caused, per connection. */
    send(conn: string, raw: unknown, userId: string | null = null) {
      now += step
      const fx = new Effects()
      const failure = calls.handle(conn, parseCallMessage(raw), { newId: `id-${nextId++}`, userId, isUser: (id) => users.has(id) }, fx, now)
      record(fx)
      return { failure, out: byConn(fx) }
    },
    /** The connection closes; `gone`: deliberately (a logout), not a dropped link. */
    drop(conn: string, gone = false) {
      now += step
      const fx = new Effects()
      calls.disconnect(conn, fx, now, gone)
      record(fx)
      return byConn(fx)
    },
    /** Moves the clock and ticks, as the host does every 200 ms. */
    tick(ms: number) {
      now += ms
      const fx = new Effects()
      calls.tick(fx, now)
      record(fx)
      return byConn(fx)
    },
    inbox(conn: string) { return inbox.get(conn) ?? [] },
    last(conn: string) { return this.inbox(conn).at(-1) },
  }
}

function byConn(fx: Effects): Record<string, CallServerMessage[]> {
  const out: Record<string, CallServerMessage[]> = {}
  for (const { to, event } of fx.sends) for (const conn of to) if (event.kind === 'call') (out[conn] ??= []).push(event.msg)
  return out
}

