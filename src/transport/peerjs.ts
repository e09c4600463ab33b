import { MeshSeat } from '../host/mesh-coordinator'
import { connectFollower } from './follower-link'
import { connectInProcess } from './in-process'
import type { Link, LinkHandlers, Transport } from './transport'

/**
 * Mesh mode: browsers that share no BroadcastChannel (other profiles, other devices)
 * reach the coordinating browser over PeerJS data channels brokered by the relay's
 * /peerjs; the coordinating browser's own SDK uses an in-process link. When the
 * coordinator goes, links close and the SDK reconnects to whoever claimed the id next.
 *
 * @example
 * const rtm = new RTM('demo', 'alice', { transport: 'mesh', url: 'http://10.0.0.5:8080' })
 */
export class MeshTransport implements Transport {
  readonly name = 'mesh'
  readonly seat: MeshSeat

  constructor(appId: string, brokerUrl: string) {
    this.seat = new MeshSeat(appId, brokerUrl)
  }

  connect(handlers: LinkHandlers): Link {
    const seat = this.seat
    let inner: (Link & { abort?(reason: string): void }) | null = null
    let closed = false
    const finish = (reason: string) => {
      if (closed) return
      closed = true
      handlers.close(reason)
    }
    const guarded: LinkHandlers = {
      open: () => { if (!closed) handlers.open() },
      frame: (frame) => { if (!closed) handlers.frame(frame) },
      close: finish,
    }
    void (async () => {
      await seat.firstClaim
      if (closed) return
      if (seat.isCoordinator) {
        inner = connectInProcess(seat, guarded)
        return
      }
      let follower: ReturnType<typeof connectFollower> | null = null
      const bus = await seat.dial(() => follower?.abort('the data channel to the coordinator closed')).catch((error: unknown) => {
        finish(`no coordinator reachable: ${error instanceof Error ? error.message : String(error)}`)
        return null
      })
      if (!bus) return
      if (closed) return bus.release()
      follower = connectFollower({ bus, self: seat.peerId, coordinator: seat.coordinatorPeerId, onSilent: () => seat.coordinatorLost() }, guarded)
      inner = follower
    })()
    return {
      send: (frame) => inner?.send(frame),
      close: () => {
        if (closed) return
        closed = true
        inner?.close()
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
