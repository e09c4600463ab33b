import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { Coordinator, type Handled } from '../engine/coordinator'
import type { LoginContext, Reply } from '../engine/app-engine'
import type { ConnId, Output, Write } from '../engine/effects'
import type { ArgsOf, Request } from '../protocol/requests'

/** Durable keys of remembered replies; never collide with the engine's own keys. */
export const REPLY_PREFIX = 'reply\u0000'
/** Replies of applied writes kept per client login (matches the engine's in-memory cache). */
export const DURABLE_REPLIES_PER_CLIENT = 64
/** A client that sent nothing for this long has long given up on its requests (10 s timeout in the SDK). */
export const DURABLE_REPLIES_IDLE_MS = 10 * 60_000

/**
 * The engine's reply cache lives in memory, so a coordinator that takes over (a new
 * coordinator tab, a new mesh host) would apply a resent write a second time. This
 * coordinator remembers the reply of every request that wrote durable state, in the same
 * commit as the write, and answers a resent request id from it.
 *
 * A client login is identified across coordinators by its resume key: a new coordinator
 * adopts the key the SDK presents instead of minting one, so the key stays the SDK's
 * login-lifetime id (a fresh `login()` starts a fresh key). Pure like the engine: the
 * host commits the extra writes with the rest.
 */
export class ReplayingCoordinator extends Coordinator {
  /** clientKey → (request id → reply), insertion-ordered for eviction. */
  private readonly remembered = new Map<string, Map<number, Reply>>()
  /** clientKey → last request time; NaN for replies restored from the store (set at the first tick). */
  private readonly lastActive = new Map<string, number>()
  private readonly clientKeys = new WeakMap<object, string>()

  override login(conn: ConnId, args: ArgsOf<'login'>, context: LoginContext, now: number): Handled {
    const adopted = args.resumeKey && args.resumeKey.length >= 16 ? { ...context, newResumeKey: args.resumeKey } : context
    return super.login(conn, args, adopted, now)
  }

  override handle(conn: ConnId, id: number, request: Exclude<Request, { op: 'login' | 'renewToken' }>, now: number): Handled {
    const client = this.clientKey(conn)
    const earlier = client === null ? undefined : this.remembered.get(client)?.get(id)
    if (earlier && request.op !== 'heartbeat') return { sends: [], closes: [], writes: [], reply: earlier }
    const handled = super.handle(conn, id, request, now)
    if (client !== null && handled.reply && handled.writes.length > 0) handled.writes.push(...this.remember(client, id, handled.reply))
    if (client !== null && this.remembered.has(client)) this.lastActive.set(client, now)
    return handled
  }

  override restore(entries: Write[]): void {
    const engineEntries: Write[] = []
    for (const entry of entries) {
      if (!entry.key.startsWith(REPLY_PREFIX)) {
        engineEntries.push(entry)
        continue
      }
      const [client, id] = splitKey(entry.key)
      if (client === null) continue
      const replies = this.remembered.get(client) ?? new Map<number, Reply>()
      replies.set(id, entry.value as Reply)
      this.remembered.set(client, replies)
      this.lastActive.set(client, Number.NaN)
    }
    super.restore(engineEntries)
  }

  override tick(now: number): Output {
    const output = super.tick(now)
    for (const [client, at] of this.lastActive) {
      if (Number.isNaN(at)) this.lastActive.set(client, now)
      else if (now - at > DURABLE_REPLIES_IDLE_MS) output.writes.push(...this.forget(client))
    }
    return output
  }

  private forget(client: string): Write[] {
    const ids = [...(this.remembered.get(client)?.keys() ?? [])]
    this.remembered.delete(client)
    this.lastActive.delete(client)
    return ids.map((id) => ({ key: replyKey(client, id), value: null }))
  }

  private remember(client: string, id: number, reply: Reply): Write[] {
    const replies = this.remembered.get(client) ?? new Map<number, Reply>()
    this.remembered.set(client, replies)
    replies.set(id, reply)
    const writes: Write[] = [{ key: replyKey(client, id), value: reply }]
    while (replies.size > DURABLE_REPLIES_PER_CLIENT) {
      const oldest = replies.keys().next().value!
      replies.delete(oldest)
      writes.push({ key: replyKey(client, oldest), value: null })
    }
    return writes
  }

  private clientKey(conn: ConnId): string | null {
    const who = this.userOf(conn)
    const session = who ? this.app(who.appId)?.byConn.get(conn) : undefined
    if (!who || !session) return null
    // Asked on every request (publishes too, on the relay): built once per session.
    let key = this.clientKeys.get(session)
    if (key === undefined) {
      key = JSON.stringify([who.appId, who.userId, resumeKeyDigest(session.resumeKey)])
      this.clientKeys.set(session, key)
    }
    return key
  }
}

/**
 * The resume key is a bearer secret (it takes over a live session), and reply keys are
 * written to disk, IndexedDB and every mesh follower: store its SHA-256, never the key.
 * Synchronous and pure JS because the engine is synchronous and this runs in browsers
 * too; no salt is needed since resume keys are random (≥ 16 characters). Replies stored
 * under plain keys by older versions no longer match and are deleted when idle.
 */
export function resumeKeyDigest(resumeKey: string): string {
  return bytesToHex(sha256(utf8ToBytes(resumeKey)))
}

function replyKey(client: string, id: number): string {
  return `${REPLY_PREFIX}${client}\u0000${id}`
}

function splitKey(key: string): [string | null, number] {
  const rest = key.slice(REPLY_PREFIX.length)
  const cut = rest.lastIndexOf('\u0000')
  const id = Number(rest.slice(cut + 1))
  return cut < 0 || !Number.isInteger(id) ? [null, 0] : [rest.slice(0, cut), id]
}
