import type { ServerEvent } from '../protocol/events'
import type { Reply } from './app-engine'

/** A connection as the engine knows it: an opaque id handed in by the host. */
export type ConnId = string

/** The answer to a request that was left waiting (acquireLock with retry), sent when it is decided. */
export interface LateReply { conn: ConnId; id: number; reply: Reply }

/** A durable write the host must commit before it acts on the rest of the output. */
export interface Write { key: string; value: unknown | null }

export interface Output {
  /** Events to deliver, in order; one event may go to many connections (encoded once). */
  sends: { to: ConnId[]; event: ServerEvent }[]
  /** Connections the host must close after delivering the sends. */
  closes: { conn: ConnId; reason: string }[]
  writes: Write[]
  /** Answers to earlier requests, delivered after this output's writes are durable. */
  replies?: LateReply[]
}

/** Collects what a handler wants to happen. Created per input; the engine never does I/O. */
export class Effects implements Output {
  sends: Output['sends'] = []
  closes: Output['closes'] = []
  writes: Write[] = []
  replies: LateReply[] = []

  send(to: ConnId | ConnId[], event: ServerEvent): void {
    const list = typeof to === 'string' ? [to] : to
    if (list.length > 0) this.sends.push({ to: list, event })
  }

  close(conn: ConnId, reason: string): void {
    this.closes.push({ conn, reason })
  }

  write(key: string, value: unknown | null): void {
    this.writes.push({ key, value })
  }

  reply(conn: ConnId, id: number, reply: Reply): void {
    this.replies.push({ conn, id, reply })
  }
}
