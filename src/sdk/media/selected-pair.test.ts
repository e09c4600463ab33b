import { describe, expect, it } from 'vitest'
import { readSelectedPair } from './selected-pair'

/** A peer connection whose getStats answers these reports (an RTCStatsReport is a Map by id). */
const withStats = (reports: Record<string, unknown>[]) =>
  ({ getStats: async () => new Map(reports.map((report) => [report.id as string, report])) }) as unknown as RTCPeerConnection

const local = { id: 'L1', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', address: '10.99.0.1', port: 50000, relayProtocol: 'udp' }
const remote = { id: 'R1', type: 'remote-candidate', candidateType: 'host', protocol: 'udp', address: '10.99.42.2', port: 40000 }
const pair = { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'succeeded', nominated: true }

describe('the selected candidate pair, from getStats', () => {
  it('Chromium: the pair the transport names, with both ends’ types and addresses', async () => {
    const other = { ...pair, id: 'P0', localCandidateId: 'R1', remoteCandidateId: 'L1' }
    expect(await readSelectedPair(withStats([{ id: 'T', type: 'transport', selectedCandidatePairId: 'P1' }, other, pair, local, remote]))).toEqual({
      id: 'P1',
      local: { type: 'relay', protocol: 'udp', address: '10.99.0.1', port: 50000, relayProtocol: 'udp' },
      remote: { type: 'host', protocol: 'udp', address: '10.99.42.2', port: 40000, relayProtocol: null },
    })
  })

  it('Firefox: the pair marked selected', async () => {
    expect(await readSelectedPair(withStats([{ ...pair, selected: true }, local, remote]))).toMatchObject({ id: 'P1', local: { type: 'relay' }, remote: { type: 'host' } })
  })

  it('none before ICE has picked a pair', async () => {
    expect(await readSelectedPair(withStats([{ id: 'T', type: 'transport' }, { ...pair, nominated: false, state: 'in-progress' }, local, remote]))).toBeNull()
  })
})
