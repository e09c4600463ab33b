import type { ConnId } from '../../engine/effects'
import { ChannelType } from '../../protocol/enums'
import type { RtmErrorInfo } from '../../protocol/errors'
import type { PresenceEvent, ReplyFrame, UserState } from '../../protocol/events'

export type EngineReply = { ok: true; result: Record<string, unknown> } | { ok: false; error: RtmErrorInfo }

/**
 * One EasyRTC connection's line to the coordinator: native request frames in through the
 * host, replies matched back by id. Presence SNAPSHOTs a room join waits for are caught
 * here too; every other event goes to the codec.
 */
export class EngineLink {
  private nextId = 1
  private readonly replies = new Map<number, (reply: EngineReply) => void>()
  private readonly snapshots = new Map<string, (snapshot: UserState[]) => void>()

  constructor(readonly conn: ConnId, private readonly receive: (conn: ConnId, frame: unknown) => void) {}

  request(op: string, args: Record<string, unknown> = {}): Promise<EngineReply> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.replies.set(id, resolve)
      this.receive(this.conn, { t: 'req', id, op, args })
    })
  }

  /**
   * Subscribes to a room's channel and resolves with its SNAPSHOT (the full member list
   * with states), which the engine delivers right after the reply.
   */
  async subscribe(channelName: string): Promise<{ ok: true; snapshot: UserState[] } | { ok: false; error: RtmErrorInfo }> {
    const snapshot = new Promise<UserState[]>((resolve) => this.snapshots.set(channelName, resolve))
    const reply = await this.request('subscribe', { channelName, withMessage: true, withPresence: true })
    if (!reply.ok) {
      this.snapshots.delete(channelName)
      return reply
    }
    return { ok: true, snapshot: await snapshot }
  }

  /** A reply frame: resolves its request. Returns false for ids this link did not send. */
  settle(frame: ReplyFrame): boolean {
    const resolve = this.replies.get(frame.id)
    if (!resolve) return false
    this.replies.delete(frame.id)
    resolve(frame.ok ? { ok: true, result: frame.result } : { ok: false, error: frame.error })
    return true
  }

  /** A SNAPSHOT some join waits for is consumed here (true); anything else is for the codec. */
  takeSnapshot(event: PresenceEvent): boolean {
    if (event.channelType !== ChannelType.MESSAGE || !event.snapshot) return false
    const resolve = this.snapshots.get(event.channelName)
    if (!resolve) return false
    this.snapshots.delete(event.channelName)
    resolve(event.snapshot)
    return true
  }
}
