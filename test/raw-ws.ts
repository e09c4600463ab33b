import { SignJWT } from 'jose'
import WebSocket from 'ws'
import type { Relay } from '../src/relay/server'

/**
 * Plain WebSocket clients of the relay's raw JSON endpoints (/ws/calls, /ws/rooms), as any
 * non-SDK program would be: their URL, opening, refused upgrades, tokens, and an inbox.
 */

/** `ws://…<path>?<query>` of `relay`; `appId`, `token` and `userId` in `query` say who the socket is. */
export function rawWsUrl(relay: Relay, path: string, query: Record<string, string> = {}): string {
  const search = new URLSearchParams(query).toString()
  return `${relay.url.replace('http', 'ws')}${path}${search ? `?${search}` : ''}`
}

/** A WebSocket to `url`, once it is open. */
export async function openRawWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url)
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  return ws
}

/** The HTTP status a refused upgrade to `url` answered with. */
export function upgradeStatusAt(url: string): Promise<number> {
  const ws = new WebSocket(url)
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => { resolve(response.statusCode ?? 0); ws.terminate() })
    ws.once('open', () => { ws.close(); reject(new Error('the upgrade was accepted')) })
    ws.once('error', () => undefined) // follows the unexpected response
  })
}

/** An HS256 token of `userId` signed with `secret`, valid for an hour. */
export function tokenOf(secret: string, userId: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('1h').sign(new TextEncoder().encode(secret))
}

/**
 * Records every message of one socket; `next` waits for a match. Which match it takes is
 * the subclass's `take`: any not taken yet, or only those after the last one taken.
 */
export abstract class RawInbox<T> {
  readonly seen: T[] = []
  private waiters: (() => void)[] = []

  push(msg: T): void {
    this.seen.push(msg)
    for (const wake of this.waiters.splice(0)) wake()
  }

  async next(match: (msg: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.take(match)
      if (index >= 0) return this.seen[index]
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(this.missing())
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** The index in `seen` of the message to hand out (marked taken), or -1. */
  protected abstract take(match: (msg: T) => boolean): number
  /** The error when nothing matched in time, naming what was there. */
  protected abstract missing(): string
}
