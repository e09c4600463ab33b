import { existsSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join } from 'node:path'
import sirv from 'sirv'

/** Where Vite writes the files whose names carry a hash of their content (build.assetsDir). */
export const HASHED_ASSETS_PREFIX = '/assets/'
/** A hashed file never changes under its name: a year, and `immutable` so a reload does not even ask. */
export const HASHED_CACHE_CONTROL = 'public, max-age=31536000, immutable'
/** The page names this build's assets: browsers ask again every time (a 304 while it has not changed). */
export const PAGE_CACHE_CONTROL = 'no-cache'
/** Other files with a fixed name (favicon.svg…): an hour, so a new build reaches everyone the same day. */
export const UNHASHED_CACHE_CONTROL = 'public, max-age=3600'

/** Serves one request from the built page, or calls `notFound`. */
export type StaticHandler = (request: IncomingMessage, response: ServerResponse, notFound: () => void) => void

/**
 * The built page (dist/) with the `.br` and `.gz` copies the build writes beside each
 * text file (vite.config.ts): sirv picks brotli, then gzip, then the file itself by
 * Accept-Encoding, with the file's Content-Type, Content-Encoding, Content-Length and
 * `Vary: Accept-Encoding`. Hashed files under /assets/ are cached for good; every other
 * path is the page (SPA fallback: index.html) or a file with a fixed name. A missing
 * /assets/ file is a 404, never the page, so a stale chunk name fails loudly.
 * Null when `dir` does not exist.
 */
export function staticFiles(dir: string): StaticHandler | null {
  if (!existsSync(dir)) return null
  const common = { etag: true, brotli: true, gzip: true } as const
  const assetsDir = join(dir, HASHED_ASSETS_PREFIX)
  const hashed = existsSync(assetsDir)
    ? sirv(assetsDir, { ...common, setHeaders: (response) => response.setHeader('cache-control', HASHED_CACHE_CONTROL) })
    : null
  const page = sirv(dir, {
    ...common,
    single: true,
    setHeaders: (response, pathname) => response.setHeader('cache-control', cacheControlOf(pathname)),
  })
  return (request, response, notFound) => {
    const url = request.url ?? '/'
    if (url.startsWith(HASHED_ASSETS_PREFIX)) {
      if (!hashed) return notFound()
      request.url = url.slice(HASHED_ASSETS_PREFIX.length - 1) // sirv of dist/assets looks up `/name-hash.js`
      return hashed(request, response, notFound)
    }
    page(request, response, notFound)
  }
}

/**
 * A path outside /assets/: the page (`/`, `/index.html`, any route without an extension,
 * which sirv answers with index.html) or a file with a fixed name.
 */
function cacheControlOf(pathname: string): string {
  const extension = extname(pathname)
  return extension === '' || extension === '.html' ? PAGE_CACHE_CONTROL : UNHASHED_CACHE_CONTROL
}
