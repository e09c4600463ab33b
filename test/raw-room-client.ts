import WebSocket from 'ws'
import type { Relay } from '../src/relay/server'
import { RawInbox, openRawWs, rawWsUrl } from './raw-ws'

/** Plain WebSocket clients of /ws/rooms that know only seed 003 (rooms-ws and rooms-sfu integration tests). */

export type Frame = Record<string, unknown> & { c?: number; s?: string; b?: Record<string, unknown> }

/** Records every frame of one socket; `next` takes the first frame not taken yet that matches (any order). */
export class Inbox extends RawInbox<Frame> {
  private readonly taken = new Set<number>()

  protected take(match: (frame: Frame) => boolean): number {
    const index = this.seen.findIndex((frame, i) => !this.taken.has(i) && match(frame))
    if (index >= 0) this.taken.add(index)
    return index
  }

  protected missing(): string {
    return `no matching room frame; saw ${JSON.stringify(this.seen.filter((_, i) => !this.taken.has(i))).slice(0, 2000)}`
  }

  /** The next ack or push named `s` (a frame with a code). */
  ack(s: string, extra: (frame: Frame) => boolean = () => true, timeoutMs?: number): Promise<Frame> {
    return this.next((frame) => frame.c !== undefined && frame.s === s && extra(frame), timeoutMs)
  }

  /** The next PUBLISH_LIST_CHANGED push for `cause` (listing exactly the sessions `ids`, when given). */
  list(cause: string, ids?: string[]): Promise<Frame> {
    return this.ack('PUBLISH_LIST_CHANGED', (frame) => frame.b?.cause === cause && (ids === undefined || sessionIds(frame).join() === ids.join()))
  }

  /** The next signal forwarded from another member (no code). */
  forwarded(s: string): Promise<Frame> {
    return this.next((frame) => frame.c === undefined && frame.s === s)
  }
}

/** A plain WebSocket client of /ws/rooms, as any non-SDK program would be. */
export class RawRoomClient {
  readonly inbox = new Inbox()
  closed: { code: number; reason: string } | null = null
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.inbox.push(JSON.parse(data.toString()) as Frame))
    ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() } })
  }

  static async open(relay: Relay, query: Record<string, string> = {}): Promise<RawRoomClient> {
    return new RawRoomClient(await openRawWs(roomsUrl(relay, query)))
  }

  send(action: string, data: unknown): void {
    this.ws.send(JSON.stringify({ action, data }))
  }

  /** Sends `{action, data}` and waits for the ack of that signal (any code). */
  async request(action: string, data: Record<string, unknown>, s: string): Promise<Frame> {
    this.send(action, data)
    return this.inbox.ack(s)
  }
}

export const roomsUrl = (relay: Relay, query: Record<string, string>) => rawWsUrl(relay, '/ws/rooms', query)

/** Seed 003's session info (`ss`): one session of `userId`, from a web page. */
export function session(userId: string, sessionId = `${userId}-1`) {
  return { userId, sessionId, category: 'stream', host: 'Web', deviceId: `device-${userId}` }
}
export type Session = ReturnType<typeof session>

export const sessionIds = (frame: Frame) => (frame.b?.pps as { sessionId: string }[]).map((entry) => entry.sessionId)
