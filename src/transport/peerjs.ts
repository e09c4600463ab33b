import { MeshSeat } from '../host/mesh-coordinator'
import { connectFollower } from './follower-link'
import { connectInProcess } from './in-process'
import type { RequestFrame } from '../protocol/events'
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
  private current: MeshSeat | null = null

  /** `rtcConfiguration`: ICE servers and policy for the data channels (the SDK's `rtm.ice`). */
  constructor(private readonly appId: string, private readonly brokerUrl: string, private readonly rtcConfiguration?: () => RTCConfiguration) {}

  /** This browser's seat in the mesh, once a login has given it a token. */
  get seat(): MeshSeat | null {
    return this.current
  }

  /**
   * Opens at once: the SDK answers with its login frame, whose token the broker needs
   * before this browser may claim the coordinator id or dial it. Frames are held until
   * the link to the coordinator (in-process or a data channel) is open.
   */
  connect(handlers: LinkHandlers): Link {
    let inner: (Link & { abort?(reason: string): void }) | null = null
    let innerOpen = false
    let started = false
    let closed = false
    const held: RequestFrame[] = []
    const finish = (reason: string) => {
      if (closed) return
      closed = true
      handlers.close(reason)
    }
    const guarded: LinkHandlers = {
      open: () => {
        if (closed || innerOpen) return
        innerOpen = true
        for (const frame of held.splice(0)) inner?.send(frame)
      },
      frame: (frame) => { if (!closed) handlers.frame(frame) },
      close: finish,
    }
    const start = async (token: string | undefined) => {
      const seat = this.seatWith(token)
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
    }
    queueMicrotask(() => { if (!closed) handlers.open() })
    return {
      send: (frame) => {
        if (closed) return
        if (frame.op === 'renewToken') this.current?.useToken(tokenOf(frame))
        if (innerOpen) return inner?.send(frame)
        held.push(frame)
        if (started) return
        started = true
        void start(frame.op === 'login' ? tokenOf(frame) : undefined)
      },
      close: () => {
        if (closed) return
        closed = true
        inner?.close()
      },
    }
  }

  describe(): string {
    return this.current?.describe() ?? 'electing…'
  }

  async destroy(): Promise<void> {
    await this.current?.destroy()
  }

  private seatWith(token: string | undefined): MeshSeat {
    if (!this.current) this.current = new MeshSeat(this.appId, this.brokerUrl, token, this.rtcConfiguration)
    else this.current.useToken(token)
    return this.current
  }
}

/** The token a login or renewToken frame carries. */
function tokenOf(frame: RequestFrame): string | undefined {
  const token = (frame.args as { token?: unknown } | null)?.token
  return typeof token === 'string' ? token : undefined
}
