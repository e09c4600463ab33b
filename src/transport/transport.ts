import type { RequestFrame } from '../protocol/events'

/** Callbacks of one connection attempt. */
export interface LinkHandlers {
  open(): void
  /** An untrusted frame from the coordinator (the SDK validates it). */
  frame(frame: unknown): void
  close(reason: string): void
}

/** One live connection to wherever the coordinator runs. */
export interface Link {
  send(frame: RequestFrame): void
  close(): void
}

/**
 * Moves frames between an SDK and the coordinator: socket.io (relay), BroadcastChannel
 * (tabs), PeerJS data channels (mesh) or in-process. Each `connect` is one attempt; the
 * SDK stamps attempts with a generation and ignores callbacks of older ones.
 */
export interface Transport {
  readonly name: string
  connect(handlers: LinkHandlers): Link
  /** Who coordinates, when the transport knows (tabs/mesh); shown in the UI. */
  describe?(): string
}
