/** A free loopback port: bound to 0 and released (the server under test binds it right after). One helper for src, bench and tests. */
export { freePort } from '../../src/relay/cluster/local-processes'
