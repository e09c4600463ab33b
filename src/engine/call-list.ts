import { ClientCallState } from '../protocol/calls'
import { inCall, type CallClient, type Send } from './call-model'

/** At most one `clu` per client per this interval (the latest list); registrations cannot amplify. */
export const CLU_INTERVAL_MS = 500

/**
 * Seed 002 "Clu": everyone with an sId, except those in a call, gets the new list when it
 * changes — at once if its last list is CLU_INTERVAL_MS old, else the latest one from `flush`
 * (the registry's tick).
 */
export class ClientList {
  /** Clients owed the latest list once their CLU_INTERVAL_MS has passed. */
  private readonly owed = new Set<CallClient>()

  /** `members`: the registered clients, in registration order. */
  constructor(private readonly members: () => Iterable<CallClient>) {}

  /** sIds and states, in registration order (what `clu` carries). */
  list(): { sId: string; state: 1 | 2 }[] {
    return [...this.members()].map((client) => ({
      sId: client.sId,
      state: inCall(client) ? ClientCallState.CALLING : ClientCallState.WAIT,
    }))
  }

  changed(send: Send, now: number): void {
    const due: CallClient[] = []
    for (const client of this.members()) {
      if (inCall(client)) continue
      if (now - client.cluSentAt >= CLU_INTERVAL_MS) due.push(client)
      else this.owed.add(client)
    }
    this.sendList(due, send, now)
  }

  /** Sends the latest list to clients whose interval has passed since a change was held back. */
  flush(send: Send, now: number): void {
    const due = [...this.owed].filter((client) => now - client.cluSentAt >= CLU_INTERVAL_MS && !inCall(client))
    this.sendList(due, send, now)
  }

  forget(client: CallClient): void {
    this.owed.delete(client)
  }

  private sendList(to: CallClient[], send: Send, now: number): void {
    if (to.length === 0) return
    for (const client of to) {
      client.cluSentAt = now
      this.owed.delete(client)
    }
    send(to, { cmd: 'clu', list: this.list() })
  }
}
