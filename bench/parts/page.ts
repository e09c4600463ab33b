import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { BenchPart } from '../lib/part'
import { round } from '../lib/report'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const INITIAL_JS_TARGET_GZIP_KB = 80

interface Asset { file: string; bytes: number; gzipBytes: number }

/** Page weight: `vite build` into a temp folder; initial = what index.html loads, lazy = every other chunk. */
export const pagePart: BenchPart = {
  name: 'page',
  description: 'built page: initial JS and CSS (raw, gzip) and lazy-loaded chunks',
  async run({ log, print }) {
    if (!existsSync(join(ROOT, 'index.html'))) return { skipped: 'no index.html yet: nothing to build' }
    const outDir = mkdtempSync(join(tmpdir(), 'bench-page-'))
    try {
      log(`page: vite build → ${outDir}`)
      const { build } = await import('vite')
      await build({ root: ROOT, logLevel: 'warn', build: { outDir, emptyOutDir: true, reportCompressedSize: false } })
      const result = analyze(outDir)
      const row = (label: string, assets: Asset[]) => [label, assets.length, kb(total(assets, 'bytes')), kb(total(assets, 'gzipBytes'))]
      print({
        title: 'Page weight (vite build, gzip level 9)',
        columns: ['what', 'files', 'raw KB', 'gzip KB'],
        rows: [row('initial JS', result.initialJs), row('initial CSS', result.initialCss), row('lazy JS', result.lazyJs), row('lazy CSS', result.lazyCss), row('other assets', result.other)],
        note: `target: initial JS ≤ ${INITIAL_JS_TARGET_GZIP_KB} KB gzip. Lazy chunks: ${result.lazyJs.map((a) => `${a.file} (${kb(a.gzipBytes)} KB gz)`).join(', ') || 'none'}`,
      })
      return {
        initialJsGzipKB: kb(total(result.initialJs, 'gzipBytes')), initialJsKB: kb(total(result.initialJs, 'bytes')),
        initialCssGzipKB: kb(total(result.initialCss, 'gzipBytes')), initialCssKB: kb(total(result.initialCss, 'bytes')),
        lazyJsGzipKB: kb(total(result.lazyJs, 'gzipBytes')), ...result,
      }
    } finally {
      rmSync(outDir, { recursive: true, force: true })
    }
  },
}

export function analyze(outDir: string) {
  const html = readFileSync(join(outDir, 'index.html'), 'utf8')
  const referenced = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1])
  const initial = new Set<string>()
  const queue = referenced.filter((ref) => /\.(m?js|css)$/.test(ref)).map((ref) => join(outDir, ref.replace(/^\//, '')))
  // Follow static imports of initial chunks (import … from "./x.js"), never dynamic import("./x.js").
  while (queue.length) {
    const file = queue.pop()!
    if (initial.has(file) || !existsSync(file)) continue
    initial.add(file)
    if (!file.endsWith('.js')) continue
    const code = readFileSync(file, 'utf8')
    for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*)["'](\.{1,2}\/[^"']+\.js)["']/g)) queue.push(join(file, '..', match[1]))
  }
  // The .br and .gz copies the build writes beside each file (vite.config.ts) are other forms of it, not more page.
  const all = walk(outDir).filter((file) => !file.endsWith('.html') && !/\.(br|gz)$/.test(file))
  const asset = (file: string): Asset => {
    const content = readFileSync(file)
    return { file: relative(outDir, file), bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length }
  }
  const pick = (test: (file: string) => boolean) => all.filter(test).map(asset)
  return {
    initialJs: pick((f) => initial.has(f) && f.endsWith('.js')),
    initialCss: pick((f) => initial.has(f) && f.endsWith('.css')),
    lazyJs: pick((f) => !initial.has(f) && f.endsWith('.js')),
    lazyCss: pick((f) => !initial.has(f) && f.endsWith('.css')),
    other: pick((f) => !f.endsWith('.js') && !f.endsWith('.css')),
  }
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })
}

const total = (assets: Asset[], key: 'bytes' | 'gzipBytes') => assets.reduce((sum, a) => sum + a[key], 0)
const kb = (bytes: number) => round(bytes / 1000, 1)
