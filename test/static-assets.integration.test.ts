import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { build } from 'vite'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HASHED_CACHE_CONTROL, PAGE_CACHE_CONTROL, UNHASHED_CACHE_CONTROL } from '../src/relay/static-files'
import type { Relay, RelayOptions } from '../src/relay/server'
import { relayForTest } from './helpers'

/**
 * Issue 15: the built page goes out precompressed (brotli, else gzip, else as it is) and
 * cached by kind (hashed assets for good, the page revalidated). The real build (this
 * checkout's vite.config.ts) into a temp folder, served by a real relay on a free port;
 * responses read raw with node:http, since fetch would undo the compression.
 */

const projectRoot = new URL('..', import.meta.url).pathname
/** Under this the build writes no compressed copy (vite.config.ts COMPRESS_THRESHOLD_BYTES). */
const THRESHOLD_BYTES = 1024
const COMPRESSIBLE = /\.(html|css|js|mjs|json|svg|wasm)$/

let outDir: string
const relays: Relay[] = []
async function relay(options: RelayOptions = {}): Promise<Relay> {
  const started = await relayForTest({ staticDir: outDir, ...options })
  relays.push(started)
  return started
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'static-assets-'))
  await build({ root: projectRoot, logLevel: 'silent', build: { outDir, emptyOutDir: true, reportCompressedSize: false } })
}, 120_000)
afterEach(async () => {
  for (const started of relays.splice(0)) await started.close()
})
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** GET with exactly these headers; the body as sent (not decompressed). */
function get(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    request(url, { headers, agent: false }, (response) => { // a fresh connection: none left open for close() to wait on
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }))
      response.on('error', reject)
    }).on('error', reject).end()
  })
}

function filesOf(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesOf(path) : [path]
  })
}

/** The largest built JavaScript file: what the page's first load pays for most. */
function largestScript(): { path: string; bytes: Buffer } {
  const scripts = filesOf(join(outDir, 'assets')).filter((file) => file.endsWith('.js'))
  const path = scripts.sort((a, b) => statSync(b).size - statSync(a).size)[0]
  return { path: `/${relative(outDir, path)}`, bytes: readFileSync(path) }
}

describe('the build writes compressed copies', () => {
  it('a .br and a .gz beside every text file of 1 KB or more, each smaller than the file', () => {
    const files = filesOf(outDir).filter((file) => COMPRESSIBLE.test(file) && statSync(file).size >= THRESHOLD_BYTES)
    expect(files.length).toBeGreaterThan(5)
    for (const file of files) {
      for (const suffix of ['.br', '.gz']) {
        expect(readdirSync(join(file, '..')), `${relative(outDir, file)}${suffix}`).toContain(`${file.split('/').pop()}${suffix}`)
        expect(statSync(`${file}${suffix}`).size).toBeLessThan(statSync(file).size)
      }
    }
  })
})

describe('the relay picks the encoding by Accept-Encoding', () => {
  it('sends brotli to a browser that accepts it, and it decompresses to the file', async () => {
    const { url } = await relay()
    const script = largestScript()
    const response = await get(`${url}${script.path}`, { 'accept-encoding': 'gzip, deflate, br, zstd' })
    expect(response.status).toBe(200)
    expect(response.headers['content-encoding']).toBe('br')
    expect(response.headers['content-type']).toMatch(/^text\/javascript/)
    expect(response.headers.vary).toMatch(/accept-encoding/i)
    expect(Number(response.headers['content-length'])).toBe(response.body.length)
    expect(response.body.length).toBeLessThan(script.bytes.length)
    expect(brotliDecompressSync(response.body).equals(script.bytes)).toBe(true)
  })

  it('sends gzip to a client that accepts only gzip', async () => {
    const { url } = await relay()
    const script = largestScript()
    const response = await get(`${url}${script.path}`, { 'accept-encoding': 'gzip' })
    expect(response.headers['content-encoding']).toBe('gzip')
    expect(response.headers['content-type']).toMatch(/^text\/javascript/)
    expect(response.headers.vary).toMatch(/accept-encoding/i)
    expect(Number(response.headers['content-length'])).toBe(response.body.length)
    expect(gunzipSync(response.body).equals(script.bytes)).toBe(true)
  })

  it('sends the file as it is to a client that accepts no compression', async () => {
    const { url } = await relay()
    const script = largestScript()
    for (const headers of [{}, { 'accept-encoding': 'identity' }] as Record<string, string>[]) {
      const response = await get(`${url}${script.path}`, headers)
      expect(response.headers['content-encoding']).toBeUndefined()
      expect(response.headers.vary).toMatch(/accept-encoding/i)
      expect(Number(response.headers['content-length'])).toBe(script.bytes.length)
      expect(response.body.equals(script.bytes)).toBe(true)
    }
  })

  it('compresses the page itself, with its type and charset', async () => {
    const { url } = await relay()
    const response = await get(`${url}/`, { 'accept-encoding': 'br' })
    expect(response.headers['content-encoding']).toBe('br')
    expect(response.headers['content-type']).toBe('text/html;charset=utf-8')
    expect(brotliDecompressSync(response.body).equals(readFileSync(join(outDir, 'index.html')))).toBe(true)
  })
})

describe('the relay says how long each file may be cached', () => {
  it('a hashed asset for a year, immutable, in every encoding', async () => {
    const { url } = await relay()
    const script = largestScript()
    for (const encoding of ['br', 'gzip', 'identity']) {
      const response = await get(`${url}${script.path}`, { 'accept-encoding': encoding })
      expect(response.headers['cache-control'], encoding).toBe(HASHED_CACHE_CONTROL)
    }
    expect(HASHED_CACHE_CONTROL).toMatch(/max-age=31536000/)
    expect(HASHED_CACHE_CONTROL).toMatch(/immutable/)
  })

  it('the page is revalidated every time: /, /index.html and a route of the app', async () => {
    const { url } = await relay()
    for (const path of ['/', '/index.html', '/rooms/some-room?user=ada']) {
      const response = await get(`${url}${path}`, { 'accept-encoding': 'br, gzip' })
      expect(response.status, path).toBe(200)
      expect(response.headers['content-type'], path).toMatch(/^text\/html/)
      expect(response.headers['cache-control'], path).toBe(PAGE_CACHE_CONTROL)
      expect(response.headers.vary, path).toMatch(/accept-encoding/i)
    }
  })

  it('an unchanged page costs a 304 on revalidation', async () => {
    const { url } = await relay()
    const first = await get(`${url}/`, { 'accept-encoding': 'br' })
    const etag = String(first.headers.etag)
    const again = await get(`${url}/`, { 'accept-encoding': 'br', 'if-none-match': etag })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
  })

  it('a file with a fixed name (the favicon) for a short while', async () => {
    const { url } = await relay()
    const response = await get(`${url}/favicon.svg`)
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('image/svg+xml')
    expect(response.headers['cache-control']).toBe(UNHASHED_CACHE_CONTROL)
  })

  it('a missing asset is a 404 that nobody caches, not the page', async () => {
    const { url } = await relay()
    for (const path of ['/assets/index-gone1234.js', '/assets/gone']) {
      const response = await get(`${url}${path}`, { 'accept-encoding': 'br' })
      expect(response.status, path).toBe(404)
      expect(response.headers['cache-control'], path).toBeUndefined()
      expect(response.headers['x-content-type-options'], path).toBe('nosniff') // the security headers still apply
    }
  })

  it('the same under BASE_PATH', async () => {
    const { url } = await relay({ basePath: '/signal' })
    const script = largestScript()
    const asset = await get(`${url}${script.path}`, { 'accept-encoding': 'br' })
    expect(asset.headers['content-encoding']).toBe('br')
    expect(asset.headers['cache-control']).toBe(HASHED_CACHE_CONTROL)
    const page = await get(`${url}/`, { 'accept-encoding': 'gzip' })
    expect(page.headers['content-encoding']).toBe('gzip')
    expect(page.headers['cache-control']).toBe(PAGE_CACHE_CONTROL)
  })
})
