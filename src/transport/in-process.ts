import type { RequestFrame, ServerFrame } from '../protocol/events'
import type { Link, LinkHandlers } from './transport'

/** The coordinator as seen from its own page: accepts a link, takes its requests. */
export interface LocalHub {
  /** Returns the connection id, or null when this page no longer coordinates. */
  attach(link: { deliver(frame: ServerFrame): void; close(reason: string): void }): string | null
  receive(conn: string, frame: unknown): void
  detach(conn: string): void
}

/**
 * A link to a coordinator running in this same page (the coordinator tab's own SDK).
 * Frames are copied and delivered on a microtask, as if they had crossed a channel: the
 * SDK and the engine never share objects or call each other re-entrantly.
 */
export function connectInProcess(hub: LocalHub, handlers: LinkHandlers): Link {
  let conn: string | null = null
  let closed = false
  const finish = (reason: string) => {
    if (closed) return
    closed = true
    handlers.close(reason)
  }
  queueMicrotask(() => {
    if (closed) return
    conn = hub.attach({
      deliver: (frame) => {
        const copy = structuredClone(frame)
        queueMicrotask(() => { if (!closed) handlers.frame(copy) })
      },
      close: (reason) => queueMicrotask(() => finish(reason)),
    })
    if (conn === null) finish('this tab no longer coordinates')
    else handlers.open()
  })
  return {
    send(frame: RequestFrame) {
      if (closed || conn === null) return
      const copy = structuredClone(frame)
      const target = conn
      queueMicrotask(() => { if (!closed) hub.receive(target, copy) })
    },
    close() {
      if (closed) return
      closed = true
      if (conn !== null) hub.detach(conn)
    },
  }
}
