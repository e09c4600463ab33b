/**
 * Who may talk to the relay from a browser, and the headers the page is served with.
 *
 * A browser sends `Origin` on every WebSocket upgrade and cross-origin request, and a page
 * cannot forge it; without a check, any site a user visits could open a socket to a relay
 * on their machine or network and act with whatever the browser can reach.
 */

/** The origins allowed when ALLOWED_ORIGINS is unset: the local machine, on any port (besides the page's own origin). */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]']

/** Decides whether a request with this `Origin` header, sent to this `Host`, may connect. */
export type OriginCheck = (origin: string | undefined, hostHeader: string | undefined) => boolean

/**
 * Builds the origin check of ALLOWED_ORIGINS.
 *
 * - A request without `Origin` is allowed: it does not come from a browser page (a Node
 *   SDK client, curl, an EasyRTC server bridge), and the check only guards browsers.
 * - The page's own origin (Origin's host:port equals the request's Host) is always allowed.
 * - `allowed` undefined: http(s) on localhost, 127.0.0.1 and [::1], any port.
 * - `allowed` given: exactly those origins (`scheme://host[:port]`), or any with `*`.
 *
 * @example
 * const allow = originPolicy(['https://app.example.org'])
 * allow('https://app.example.org', 'relay.example.org') // true
 * allow('https://evil.example', 'relay.example.org')    // false
 */
export function originPolicy(allowed: string[] | undefined): OriginCheck {
  const any = allowed?.includes('*') ?? false
  const listed = new Set((allowed ?? []).filter((entry) => entry !== '*').map(normalizeOrigin))
  return (origin, hostHeader) => {
    if (origin === undefined || any) return true
    const url = parseOrigin(origin)
    if (url && hostHeader && url.host === hostOf(url.protocol, hostHeader)) return true
    if (allowed === undefined) return url !== null && DEFAULT_ALLOWED_HOSTS.includes(url.hostname)
    return listed.has(normalizeOrigin(origin))
  }
}

/** Reads ALLOWED_ORIGINS: comma-separated origins or `*`; unset or blank = the default list. */
export function parseAllowedOrigins(value: string | undefined): string[] | undefined {
  const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0)
  return entries.length > 0 ? entries : undefined
}

/** Only http(s) origins count as origins of a page; `null` (sandboxed frames, file:) and others do not. */
function parseOrigin(origin: string): URL | null {
  try {
    const url = new URL(origin)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null
  } catch {
    return null
  }
}

/** Lower-cased `scheme://host[:port]` without a default port or a trailing slash, so listed and sent origins compare equal. */
function normalizeOrigin(origin: string): string {
  return parseOrigin(origin)?.origin ?? origin.trim().toLowerCase()
}

/** The Host header as URL would write it for this scheme (lower case, default port dropped). */
function hostOf(protocol: string, hostHeader: string): string | null {
  try {
    return new URL(`${protocol}//${hostHeader}`).host
  } catch {
    return null
  }
}

/**
 * The page's Content-Security-Policy. The built page (dist/index.html) has no inline
 * script (Vite's modulepreload polyfill is bundled into the entry file); styles allow
 * 'unsafe-inline' so `style=` attributes and Svelte transitions keep working (injected
 * CSS cannot run code). The page
 * connects only to its own relay (socket.io, /peerjs in mesh mode), over http(s) or
 * ws(s); `ws: wss:` is there because browsers before CSP 3 did not count a WebSocket to
 * the same host as 'self'. Videos play from MediaStreams (`srcObject`).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ')

/** Headers on every HTTP response of the relay: the page, its assets, 404s and /healthz. */
export const securityHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Older browsers that ignore frame-ancestors.
  'X-Frame-Options': 'DENY',
  // Calls need the camera and microphone of this page only; nothing embedded gets them.
  'Permissions-Policy': 'camera=(self), microphone=(self), display-capture=(self)',
}

/** Sets `securityHeaders` on a response before its head is written. */
export function applySecurityHeaders(response: { setHeader(name: string, value: string): unknown }): void {
  for (const [name, value] of Object.entries(securityHeaders)) response.setHeader(name, value)
}
