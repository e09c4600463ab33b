import { linkConnId, parseEnvelope, type Envelope } from '../protocol/peer-envelope'
import type { RequestFrame } from '../protocol/events'
import type { Link, LinkHandlers } from './transport'

/** Followers ping the coordinator this often while a link is open. */
export const PING_MS = 500
/** A coordinator silent this long (no pong, no frame) is taken for frozen or gone. */
export const SILENCE_MS = 2500

/** Something envelopes travel over: a BroadcastChannel, a PeerJS data connection. */
export interface EnvelopeBus {
  post(envelope: Envelope): void
  /** Raw, untrusted messages; returns a function that stops listening. */
  listen(listener: (raw: unknown) => void): () => void
  /** Releases what this link opened (the bus may be shared and stay open). */
  release(): void
}

export interface FollowerLinkOptions {
  bus: EnvelopeBus
  /** This peer (tab or browser) id. */
  self: string
  /** The coordinator peer the link goes to. */
  coordinator: string
  /** The coordinator stopped answering: the election may replace it (`steal`). */
  onSilent?(coordinator: string): void
}

/**
 * One link from a follower's SDK to the coordinator over an envelope bus: hello/welcome,
 * request frames out, reply/event frames in, pings both ways. Every envelope is parsed on
 * entry and must come from the coordinator this link was opened to.
 */
export function connectFollower(options: FollowerLinkOptions, handlers: LinkHandlers): Link & { abort(reason: string): void } {
  const { bus, self, coordinator } = options
  const link = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')
  const conn = linkConnId(self, link)
  let opened = false
  let closed = false
  // Silence counts from our oldest unanswered ping, not from the last answer: a background
  // tab whose timers the browser throttles must not take a slow ping loop for a dead coordinator.
  let waitingSince: number | null = Date.now()
  const heard = () => { waitingSince = null }

  const finish = (reason: string, notifyCoordinator: boolean) => {
    if (closed) return
    closed = true
    clearInterval(pinger)
    stop()
    if (notifyCoordinator) bus.post({ kind: 'bye', from: self, to: coordinator, link })
    bus.release()
    handlers.close(reason)
  }

  const stop = bus.listen((raw) => {
    const envelope = parseEnvelope(raw)
    if (!envelope || closed || envelope.from !== coordinator) return
    switch (envelope.kind) {
      case 'frame':
        if (!envelope.targets.includes(conn)) return
        heard()
        if (opened) handlers.frame(envelope.frame)
        return
      case 'welcome':
        if (envelope.to !== self || envelope.link !== link || opened) return
        heard()
        opened = true
        handlers.open()
        return
      case 'pong':
        if (envelope.to === self && envelope.link === link) heard()
        return
      case 'ping':
        if (envelope.to === self && envelope.link === link) bus.post({ kind: 'pong', from: self, to: coordinator, link })
        return
      case 'close':
        if (envelope.to === self && envelope.link === link) finish(envelope.reason, false)
        return
      case 'resign':
        return finish('the coordinator stepped down', false)
      case 'beacon':
        heard()
        return
      default:
        return
    }
  })

  let lastTick = Date.now()
  const pinger = setInterval(() => {
    if (closed) return
    const now = Date.now()
    // This tab itself stood still (frozen, paused in a debugger, asleep): the silence is ours, and the
    // coordinator's answers may be queued behind this very timer. Ping afresh; the next tick judges.
    if (now - lastTick > SILENCE_MS) waitingSince = null
    lastTick = now
    if (waitingSince !== null && now - waitingSince > SILENCE_MS) {
      options.onSilent?.(coordinator)
      return finish(opened ? 'the coordinator stopped answering' : 'the coordinator did not answer', true)
    }
    waitingSince ??= now
    if (opened) bus.post({ kind: 'ping', from: self, to: coordinator, link })
    else bus.post({ kind: 'hello', from: self, to: coordinator, link })
  }, PING_MS)
  bus.post({ kind: 'hello', from: self, to: coordinator, link })

  return {
    send(frame: RequestFrame) {
      if (!closed && opened) bus.post({ kind: 'req', from: self, to: coordinator, link, frame })
    },
    close() {
      if (closed) return
      closed = true
      clearInterval(pinger)
      stop()
      bus.post({ kind: 'bye', from: self, to: coordinator, link })
      bus.release()
    },
    abort(reason: string) {
      finish(reason, true)
    },
  }
}
