import { SessionState, type CallServerMessage } from '../protocol/calls'
import { otherParty, parties, type CallClient, type CallSession } from './call-model'

/** Who a call party is, as a claim must match it: its sId and its user (null: anonymous). */
export interface PartyIdentity {
  sId: string
  userId: string | null
}

/**
 * A `claim` of a session this coordinator does not hold for the claimant (it restarted and
 * lost it, or the session is not the claimant's). It waits for the opponent's mirror claim,
 * which recreates the session, or ends with `leave` after the grace period.
 */
export interface LoneClaim<C extends PartyIdentity> {
  sessionId: string
  claimant: C
  opponentId: string
  at: number
}

/** Lone claims: at most one per claimant (a new claim replaces it), found by session id. */
class LoneClaims<C extends PartyIdentity> {
  private readonly bySession = new Map<string, Set<LoneClaim<C>>>()
  private readonly byClaimant = new Map<C, LoneClaim<C>>()

  of(claimant: C): LoneClaim<C> | undefined {
    return this.byClaimant.get(claimant)
  }

  add(claim: LoneClaim<C>): void {
    this.drop(claim.claimant)
    this.byClaimant.set(claim.claimant, claim)
    const claims = this.bySession.get(claim.sessionId) ?? new Set()
    claims.add(claim)
    this.bySession.set(claim.sessionId, claims)
  }

  drop(claimant: C): void {
    const claim = this.byClaimant.get(claimant)
    if (!claim) return
    this.byClaimant.delete(claimant)
    const claims = this.bySession.get(claim.sessionId)
    claims?.delete(claim)
    if (claims?.size === 0) this.bySession.delete(claim.sessionId)
  }

  /** The mirror of `claimant`'s claim: by the client holding `opponentId`, naming `claimant`'s sId. */
  mirror(sessionId: string, claimant: C, opponentId: string): LoneClaim<C> | undefined {
    for (const claim of this.bySession.get(sessionId) ?? []) {
      if (claim.claimant !== claimant && claim.claimant.sId === opponentId && claim.opponentId === claimant.sId) return claim
    }
    return undefined
  }

  /** Claims at least `graceMs` old. */
  expired(now: number, graceMs: number): LoneClaim<C>[] {
    return [...this.byClaimant.values()].filter((claim) => now - claim.at >= graceMs)
  }

  get size(): number {
    return this.byClaimant.size
  }
}

interface Ending {
  party: PartyIdentity
  opponentId: string
  messages: CallServerMessage[]
  until: number
}

/**
 * How sessions ended while a party was away (the other hung up, or the grace ran out): that
 * party learns it — once — when it claims the session within the grace period, instead of
 * waiting a whole grace period for a claim that cannot match.
 */
class Endings {
  private readonly bySession = new Map<string, Ending[]>()

  remember(sessionId: string, party: PartyIdentity, opponentId: string, messages: CallServerMessage[], until: number): void {
    const endings = this.bySession.get(sessionId) ?? []
    endings.push({ party: { sId: party.sId, userId: party.userId }, opponentId, messages, until })
    this.bySession.set(sessionId, endings)
  }

  /** The messages kept for this claimant of the session (same sId, same user, naming the same opponent), once. */
  take(sessionId: string, claimant: PartyIdentity, opponentId: string): CallServerMessage[] | null {
    const endings = this.bySession.get(sessionId)
    const index = endings?.findIndex((ending) => ending.party.sId === claimant.sId && ending.party.userId === claimant.userId && ending.opponentId === opponentId) ?? -1
    if (!endings || index < 0) return null
    const [ending] = endings.splice(index, 1)
    if (endings.length === 0) this.bySession.delete(sessionId)
    return ending.messages
  }

  prune(now: number): void {
    for (const [sessionId, endings] of this.bySession) {
      const kept = endings.filter((ending) => ending.until > now)
      if (kept.length === 0) this.bySession.delete(sessionId)
      else this.bySession.set(sessionId, kept)
    }
  }

  get size(): number {
    return this.bySession.size
  }
}

/** What a `claim` comes to (Calls.claim carries it out). */
export type ClaimOutcome =
  /** The claimant is the session's away party: it takes that party's place. */
  | { kind: 'rebind'; session: CallSession; away: CallClient }
  /** The session ended while the claimant was away: it is told how. */
  | { kind: 'ended'; messages: CallServerMessage[] }
  /** The opponent claimed the same unknown session, naming the claimant: it is recreated ACTIVE. */
  | { kind: 'recreate'; with: CallClient }
  /** A lone claim (new, or a repeat keeping its time): it waits for its mirror or the grace. */
  | { kind: 'wait' }

/**
 * Call resume (issue 12), the registry's memory of parties whose link dropped: ACTIVE sessions
 * waiting for an away party (`orphaned`, ended after `graceMs`), users counted as busy
 * meanwhile, lone claims waiting for their mirror, and endings an away party is owed.
 */
export class CallRecovery {
  /** ACTIVE sessions with an away party. */
  private readonly orphaned = new Set<CallSession>()
  /** userId → the ACTIVE session an away connection of that user may claim back: the user counts as busy meanwhile. */
  private readonly awayUsers = new Map<string, CallSession>()
  private readonly claims = new LoneClaims<CallClient>()
  private readonly endings = new Endings()

  constructor(private readonly graceMs: number) {}

  /** `client`'s link dropped during its ACTIVE `session`, which now waits for its claim. */
  away(client: CallClient, session: CallSession, now: number): void {
    client.awaySince = now
    this.orphaned.add(session)
    if (client.userId !== null) this.awayUsers.set(client.userId, session)
  }

  /** Busy for calls on this account: claiming a session, or a user whose away connection's call waits for a claim. */
  holds(client: CallClient): boolean {
    return this.claims.of(client) !== undefined || (client.userId !== null && this.awayUsers.has(client.userId))
  }

  /**
   * Decides a claim by `client` (its registered sId and user, never a frame field) of
   * `sessionId` naming `opponentId`; `session` is that id's session here, if any.
   */
  claim(client: CallClient, sessionId: string, opponentId: string, session: CallSession | undefined, now: number): ClaimOutcome {
    const away = session?.state === SessionState.ACTIVE
      ? parties(session).find((party) => party.awaySince !== null && party.sId === client.sId && party.userId === client.userId)
      : undefined
    if (session && away && otherParty(session, away).sId === opponentId) {
      this.claims.drop(client)
      return { kind: 'rebind', session, away }
    }
    const messages = this.endings.take(sessionId, client, opponentId)
    if (messages) {
      this.claims.drop(client)
      return { kind: 'ended', messages }
    }
    const earlier = this.claims.of(client)
    if (earlier?.sessionId === sessionId && earlier.opponentId === opponentId) return { kind: 'wait' }
    // A session id in use here is never recreated, whoever claims it.
    const mirror = session ? undefined : this.claims.mirror(sessionId, client, opponentId)
    if (!mirror) {
      this.claims.add({ sessionId, claimant: client, opponentId, at: now })
      return { kind: 'wait' }
    }
    this.claims.drop(mirror.claimant)
    this.claims.drop(client)
    return { kind: 'recreate', with: mirror.claimant }
  }

  /** The away party was replaced by its claimant in `session`. */
  rebound(session: CallSession, away: CallClient): void {
    away.open = null
    if (away.userId !== null && this.awayUsers.get(away.userId) === session) this.awayUsers.delete(away.userId)
    if (!parties(session).some((party) => party.awaySince !== null)) this.orphaned.delete(session)
  }

  /** `party`, away, missed the end of `session`: `messages` wait for its claim for `graceMs`. */
  missed(session: CallSession, party: CallClient, messages: CallServerMessage[], now: number): void {
    this.endings.remember(session.id, party, otherParty(session, party).sId, messages, now + this.graceMs)
  }

  closed(session: CallSession): void {
    this.orphaned.delete(session)
    for (const party of parties(session)) {
      if (party.userId !== null && this.awayUsers.get(party.userId) === session) this.awayUsers.delete(party.userId)
    }
  }

  /** The client left the registry: its lone claim goes with it. */
  forget(client: CallClient): void {
    this.claims.drop(client)
  }

  /** Sessions whose away party did not come back and lone claims nobody mirrored, within `graceMs`; forgets old endings. */
  expire(now: number): { sessions: CallSession[]; claims: LoneClaim<CallClient>[] } {
    const sessions = [...this.orphaned].filter((session) => {
      const since = Math.min(...parties(session).map((party) => party.awaySince ?? Number.POSITIVE_INFINITY))
      return now - since >= this.graceMs
    })
    const claims = this.claims.expired(now, this.graceMs)
    for (const claim of claims) this.claims.drop(claim.claimant)
    this.endings.prune(now)
    return { sessions, claims }
  }

  get isEmpty(): boolean {
    return this.claims.size === 0 && this.endings.size === 0
  }
}
