import { describe, expect, it } from 'vitest'
import { parseCandidate } from './ice-candidate'

describe('parseCandidate', () => {
  it('reads type, protocol, address and port of a host candidate', () => {
    expect(parseCandidate('candidate:842163049 1 udp 2122260223 10.99.0.1 50123 typ host generation 0 ufrag abcd network-id 1')).toMatchObject({
      type: 'host', protocol: 'udp', address: '10.99.0.1', port: 50123, priority: 2122260223, relatedAddress: null,
    })
  })

  it('reads a server-reflexive candidate with its related address and an mDNS host name', () => {
    expect(parseCandidate('candidate:1 1 UDP 1686052607 203.0.113.7 61000 typ srflx raddr 192.168.1.2 rport 61000')).toMatchObject({
      type: 'srflx', protocol: 'udp', address: '203.0.113.7', relatedAddress: '192.168.1.2',
    })
    expect(parseCandidate('candidate:2 1 udp 2122260223 6a1b2c3d-0000-4000-8000-000000000000.local 5000 typ host').address).toMatch(/\.local$/)
  })

  it('reads a TCP relay candidate and its tcptype', () => {
    expect(parseCandidate('a=candidate:3 1 tcp 41885439 198.51.100.9 443 typ relay raddr 0.0.0.0 rport 0 tcptype passive')).toMatchObject({
      type: 'relay', protocol: 'tcp', port: 443, tcpType: 'passive',
    })
  })

  it('marks garbage and end-of-candidates as unknown instead of throwing', () => {
    expect(parseCandidate('')).toMatchObject({ type: 'unknown', protocol: 'unknown', address: '', port: null })
    expect(parseCandidate('nonsense')).toMatchObject({ type: 'unknown', port: null })
  })
})
