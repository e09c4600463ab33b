import type { CandidateInfo } from './ice-candidate'

/** One end of the candidate pair ICE picked, from getStats (RTCIceCandidateStats). */
export interface PairEnd {
  type: CandidateInfo['type']
  protocol: CandidateInfo['protocol']
  address: string
  port: number | null
  /** For a relay candidate: how we reach the TURN server (`udp`, `tcp`, `tls`). */
  relayProtocol: string | null
}

/** The candidate pair the media flows over; `local.type === 'relay'` (or remote) means through TURN. */
export interface SelectedPair { id: string; local: PairEnd; remote: PairEnd }

/** How often the pair is read again while connected: ICE may switch pairs without a state change. */
export const PAIR_POLL_MS = 1_000

/**
 * The candidate pair media flows over, among a getStats() reading's reports: the one the
 * transport names (Chromium), else one marked selected (Firefox) or nominated and succeeded.
 */
export function selectedCandidatePair(reports: Record<string, unknown>[]): Record<string, unknown> | null {
  const transport = reports.find((report) => report.type === 'transport' && typeof report.selectedCandidatePairId === 'string')
  const named = transport && reports.find((report) => report.id === transport.selectedCandidatePairId)
  return named ?? reports.find((report) => report.type === 'candidate-pair'
    && (report.selected === true || (report.nominated === true && report.state === 'succeeded'))) ?? null
}

/** The pair the peer connection uses now, or null before one is selected. */
export async function readSelectedPair(pc: RTCPeerConnection): Promise<SelectedPair | null> {
  const stats = await pc.getStats()
  const pair = selectedCandidatePair([...stats.values()] as Record<string, unknown>[])
  if (!pair) return null
  const local = stats.get(pair.localCandidateId as string) as Record<string, unknown> | undefined
  const remote = stats.get(pair.remoteCandidateId as string) as Record<string, unknown> | undefined
  if (!local || !remote) return null
  return { id: String(pair.id), local: pairEnd(local), remote: pairEnd(remote) }
}

/**
 * Calls `onChange` with the selected pair each time it changes while `pc` is connected
 * (read on connect, then every PAIR_POLL_MS). Returns a function that stops watching;
 * closing `pc` stops it too.
 */
export function watchSelectedPair(pc: RTCPeerConnection, onChange: (pair: SelectedPair) => void): () => void {
  let last: string | null = null
  let timer: ReturnType<typeof setInterval> | null = null
  let stopped = false
  const read = () => {
    void readSelectedPair(pc).then((pair) => {
      if (stopped || !pair) return
      const key = `${pair.id}|${pair.local.type}|${pair.remote.type}`
      if (key === last) return
      last = key
      onChange(pair)
    }, () => undefined) // getStats on a closed connection rejects: nothing to report
  }
  const stop = () => {
    stopped = true
    if (timer !== null) clearInterval(timer)
    timer = null
    pc.removeEventListener('connectionstatechange', changed)
  }
  const changed = () => {
    // close() fires no event: the poll notices the closed state and stops itself. A failed
    // connection may come back with an ICE restart, so that keeps watching.
    if (pc.connectionState === 'closed') return stop()
    if (pc.connectionState !== 'connected') return
    read()
    timer ??= setInterval(changed, PAIR_POLL_MS)
  }
  pc.addEventListener('connectionstatechange', changed)
  return stop
}

function pairEnd(stats: Record<string, unknown>): PairEnd {
  const type = String(stats.candidateType ?? '')
  const protocol = String(stats.protocol ?? '')
  return {
    type: type === 'host' || type === 'srflx' || type === 'prflx' || type === 'relay' ? type : 'unknown',
    protocol: protocol === 'udp' || protocol === 'tcp' ? protocol : 'unknown',
    address: String(stats.address ?? stats.ip ?? ''),
    port: typeof stats.port === 'number' ? stats.port : null,
    relayProtocol: typeof stats.relayProtocol === 'string' ? stats.relayProtocol : null,
  }
}
