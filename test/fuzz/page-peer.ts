/**
 * Loaded by e2e/fuzz-coordinator.spec.ts inside a page served by Vite (the SDK harness
 * server), to get the PeerJS client there: `await import('/test/fuzz/page-peer.ts')`.
 */
export { Peer } from 'peerjs'
