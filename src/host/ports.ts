import type { ConnId, Write } from '../engine/effects'
import type { RtmErrorInfo } from '../protocol/errors'
import type { ServerFrame } from '../protocol/events'

/** Where a host delivers frames: socket.io sockets, BroadcastChannel tabs, data channels. */
export interface ConnectionSink {
  /** One frame to many connections; a sink should encode it once. */
  send(to: ConnId[], frame: ServerFrame): void
  close(conn: ConnId, reason: string): void
}

/** The coordinator's durable state. `commit` resolves only once the writes are durable. */
export interface DurableStore {
  load(): Promise<Write[]>
  commit(writes: Write[]): Promise<void>
  close(): Promise<void>
}

export type TokenCheck = { ok: true; expiresAt: number | null } | { ok: false; error: RtmErrorInfo }

/** Decides whether a login or renewToken token is acceptable (open mode accepts all). */
export interface TokenVerifier {
  /**
   * `conn`: the connection asking, for a verifier that knows who is behind a connection
   * (a mesh coordinator: the user the relay's broker attested); a host passes it.
   */
  verify(token: string | undefined, appId: string, userId: string, operation: string, conn?: ConnId): Promise<TokenCheck>
}

export class MemoryStore implements DurableStore {
  readonly entries = new Map<string, unknown>()
  async load(): Promise<Write[]> {
    return [...this.entries].map(([key, value]) => ({ key, value }))
  }
  async commit(writes: Write[]): Promise<void> {
    for (const { key, value } of writes) {
      if (value === null) this.entries.delete(key)
      else this.entries.set(key, value)
    }
  }
  async close(): Promise<void> {}
}
