import { TabCoordinator } from '../host/tab-coordinator'
import { broadcastBus, tabsChannelName } from './broadcast-channel'
import { connectFollower } from './follower-link'
import { connectInProcess } from './in-process'
import type { Link, LinkHandlers, Transport } from './transport'

/** A connect attempt waits this long for an elected coordinator before it fails (and the SDK retries). */
export const ELECTION_WAIT_MS = 5000

/**
 * Tabs mode (no server): the SDK reaches whichever tab coordinates — itself over an
 * in-process link, another tab over the BroadcastChannel. When the coordinator changes,
 * the link closes and the SDK reconnects to the new one (a failover is a reconnect).
 *
 * @example
 * const rtm = new RTM('demo', 'alice', { transport: 'tabs' })
 */
export class TabsTransport implements Transport {
  readonly name = 'tabs'
  readonly seat: TabCoordinator

  constructor(appId: string) {
    this.seat = new TabCoordinator(appId)
  }

  connect(handlers: LinkHandlers): Link {
    const seat = this.seat
    let current: Link | null = null
    let closed = false
    let cleanup: (() => void)[] = []
    const finish = (reason: string) => {
      if (closed) return
      closed = true
      for (const undo of cleanup) undo()
      cleanup = []
      handlers.close(reason)
    }
    const guarded: LinkHandlers = {
      open: () => { if (!closed) handlers.open() },
      frame: (frame) => { if (!closed) handlers.frame(frame) },
      close: (reason) => finish(reason),
    }
    const start = () => {
      if (closed) return
      if (seat.isCoordinator) {
        current = connectInProcess(seat, guarded)
        return
      }
      const coordinator = seat.coordinatorId
      if (coordinator === null) {
        const timer = setTimeout(() => finish('no coordinator elected yet'), ELECTION_WAIT_MS)
        const stop = seat.onChange(() => {
          if (seat.coordinatorId === null) return
          clearTimeout(timer)
          stop()
          start()
        })
        cleanup.push(() => { clearTimeout(timer); stop() })
        return
      }
      const link = connectFollower({
        bus: broadcastBus(tabsChannelName(seat.appId)),
        self: seat.tabId,
        coordinator,
        onSilent: (silent) => seat.suspect(silent),
      }, guarded)
      current = link
      // Another tab coordinates now (the old one died or resigned): this link is over.
      cleanup.push(seat.onChange(() => {
        if (seat.coordinatorId !== coordinator) link.abort('the coordinator changed')
      }))
    }
    start()
    return {
      send: (frame) => current?.send(frame),
      close: () => {
        if (closed) return
        closed = true
        for (const undo of cleanup) undo()
        current?.close()
      },
    }
  }

  describe(): string {
    return this.seat.describe()
  }

  destroy(): Promise<void> {
    return this.seat.destroy()
  }
}
