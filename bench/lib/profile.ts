import { readFileSync } from 'node:fs'
import type { Table } from './report'
import { round } from './report'

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] }

/** Where a function lives, short: `socket.io-parser`, `src/engine/presence.ts`, `node:internal`, `(gc)`. */
function home(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (pkg) return pkg[1]
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?([^/]+).*/, 'node:$2')
  const own = url.match(/\/((?:src|bench)\/.*)$/)
  return own ? own[1] : url
}

/** Self time by function and by package/file, from a .cpuprofile. */
export function summarizeProfile(path: string, label: string, top = 12): Table[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const totalMs = (profile.endTime - profile.startTime) / 1000
  const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0) || 1
  const msPerHit = totalMs / hits
  const byFunction = new Map<string, number>()
  const byHome = new Map<string, number>()
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const where = home(url, functionName)
    const name = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + (node.hitCount ?? 0))
    byHome.set(where, (byHome.get(where) ?? 0) + (node.hitCount ?? 0))
  }
  const rows = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, count]) => [name, round((count * msPerHit), 0), round((count / hits) * 100, 1)])
  return [
    { title: `${label}: self time by package / file`, columns: ['where', 'ms', '%'], rows: rows(byHome) },
    { title: `${label}: top functions by self time`, columns: ['function', 'ms', '%'], rows: rows(byFunction) },
  ]
}
