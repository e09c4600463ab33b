/**
 * Where a relay's endpoints live. A relay mounted under a path prefix (BASE_PATH, e.g.
 * behind a reverse proxy at https://example.com/signal) serves socket.io, /peerjs and
 * /ws/calls under that prefix, so the URL's path is a prefix, never a socket.io namespace.
 */

/** The relay a page talks to by default: the folder it was served from, without the trailing slash. */
export function pageRelayUrl(location: { href: string } | undefined): string {
  if (!location) return 'http://127.0.0.1:8080'
  return new URL('.', location.href).href.replace(/\/$/, '')
}

/** The origin to dial and the full path of `endpoint` (e.g. '/socket.io') on the relay at `url`. */
export function relayEndpoint(url: string, endpoint: string): { origin: string; path: string } {
  const parsed = new URL(url)
  return { origin: parsed.origin, path: `${parsed.pathname.replace(/\/$/, '')}${endpoint}` }
}
