import { cpus, totalmem, platform, release } from 'node:os'
import { readFileSync } from 'node:fs'

/** Nearest-rank percentile of unsorted samples (sorted in place). */
export function percentile(samples: Float64Array | number[], p: number): number {
  if (samples.length === 0) return NaN
  const sorted = samples instanceof Float64Array ? samples.sort() : [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

export type Cell = string | number | null | undefined
export interface Table { title: string; columns: string[]; rows: Cell[][]; note?: string }

function show(cell: Cell): string {
  if (cell === null || cell === undefined || (typeof cell === 'number' && Number.isNaN(cell))) return '–'
  if (typeof cell === 'number') return Math.abs(cell) >= 1000 ? Math.round(cell).toLocaleString('en-US') : String(round(cell, Math.abs(cell) >= 100 ? 0 : 2))
  return cell
}

export function printTable(table: Table): void {
  const body = table.rows.map((row) => row.map(show))
  const widths = table.columns.map((column, i) => Math.max(column.length, ...body.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  console.log(`\n## ${table.title}`)
  console.log(line(table.columns))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of body) console.log(line(row))
  if (table.note) console.log(table.note)
}

export function ratio(ours: number | undefined, theirs: number | undefined): number | null {
  if (ours === undefined || theirs === undefined || !Number.isFinite(ours) || !Number.isFinite(theirs) || theirs === 0) return null
  return round(ours / theirs, 2)
}

export function machine() {
  const cpu = cpus()
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    os: `${platform()} ${release()}`,
    openFilesLimit: openFilesLimit(),
  }
}

/** The soft RLIMIT_NOFILE of this process (children inherit it). */
export function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    return Number(line?.split(/\s+/)[3]) || Infinity
  } catch {
    return Infinity
  }
}
