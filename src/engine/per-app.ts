import type { ConnId, Effects } from './effects'

/** What the coordinator keeps one of per app (Calls, Rooms): connections leave it, the clock ticks it, and it says when it holds nothing. */
export interface AppRegistry {
  disconnect(conn: ConnId, fx: Effects, now: number): void
  tick(fx: Effects, now: number): void
  readonly isEmpty: boolean
}

/**
 * One registry per app (seed 002 calls, seed 003 rooms) and the one each connection uses:
 * its identity's app. A registry is created on first use and dropped once it holds nothing.
 */
export class PerApp<R extends AppRegistry> {
  private readonly byApp = new Map<string, R>()
  private readonly byConn = new Map<ConnId, R>()

  constructor(private readonly create: () => R) {}

  /** The app's registry, if any of its connections used it. */
  of(appId: string): R | undefined {
    return this.byApp.get(appId)
  }

  /** The registry the connection uses, if any. */
  ofConn(conn: ConnId): R | undefined {
    return this.byConn.get(conn)
  }

  /** The app's registry (created on first use), with `conn` bound to it. */
  bind(conn: ConnId, appId: string, fx: Effects, now: number): R {
    let registry = this.byApp.get(appId)
    if (!registry) {
      registry = this.create()
      this.byApp.set(appId, registry)
    }
    const before = this.byConn.get(conn)
    if (before && before !== registry) before.disconnect(conn, fx, now) // hosts never move a connection between apps; be safe
    this.byConn.set(conn, registry)
    return registry
  }

  /** The connection leaves its registry and is forgotten. */
  disconnect(conn: ConnId, fx: Effects, now: number): void {
    this.byConn.get(conn)?.disconnect(conn, fx, now)
    this.byConn.delete(conn)
  }

  /** Ticks every registry; those that hold nothing any more are dropped. */
  tick(fx: Effects, now: number): void {
    for (const [appId, registry] of this.byApp) {
      registry.tick(fx, now)
      if (registry.isEmpty) this.byApp.delete(appId)
    }
  }
}
