/** The parts of an ICE candidate line people look at (RFC 8839 §5.1 grammar). */
export interface CandidateInfo {
  /** The candidate line as exchanged (`candidate:…`), '' for end-of-candidates. */
  candidate: string
  type: 'host' | 'srflx' | 'prflx' | 'relay' | 'unknown'
  protocol: 'udp' | 'tcp' | 'unknown'
  /** IP address or mDNS name (`….local`) the candidate offers. */
  address: string
  port: number | null
  priority: number | null
  /** For srflx/relay: the local address it maps to. */
  relatedAddress: string | null
  tcpType: string | null
}

const TYPES = new Set(['host', 'srflx', 'prflx', 'relay'])

/** Parses `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [raddr <a> rport <p>] [tcptype <t>] …`. */
export function parseCandidate(line: string): CandidateInfo {
  const fields = line.trim().replace(/^a=/, '').replace(/^candidate:/, '').split(/\s+/)
  const attribute = (name: string) => {
    const index = fields.indexOf(name, 6)
    return index > 0 && index + 1 < fields.length ? fields[index + 1] : null
  }
  const protocol = fields[2]?.toLowerCase()
  const type = attribute('typ') ?? ''
  const port = Number(fields[5])
  const priority = Number(fields[3])
  return {
    candidate: line,
    type: TYPES.has(type) ? (type as CandidateInfo['type']) : 'unknown',
    protocol: protocol === 'udp' || protocol === 'tcp' ? protocol : 'unknown',
    address: fields[4] ?? '',
    port: Number.isInteger(port) && fields[5] !== undefined ? port : null,
    priority: Number.isFinite(priority) && fields[3] !== undefined ? priority : null,
    relatedAddress: attribute('raddr'),
    tcpType: attribute('tcptype'),
  }
}
