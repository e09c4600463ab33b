import type { Table } from './report'

/** Results of every part, as written to bench/results/latest.json. */
export interface BenchResults {
  machine: Record<string, unknown>
  config: Record<string, unknown>
  parts: Record<string, { ranAt: string; seconds: number; data: unknown } | undefined>
}

export interface BenchContext {
  /** This run's results merged over the last run's, so a part run alone still compares. */
  results: BenchResults
  /** Parts that ran in this invocation (ratios against the floor need the floor from the same run). */
  ranNow: Set<string>
  log(line: string): void
  print(table: Table): void
  /** Set by --profile: where CPU profiles of the servers under fan-out are written. */
  profileDir?: string
}

/** A part of `npm run bench`: runs alone (`npm run bench -- <name>`) or with the others. */
export interface BenchPart {
  name: string
  description: string
  /** Returns the data stored under results.parts[name]; `{ skipped: reason }` when it cannot run here. */
  run(context: BenchContext): Promise<unknown>
}
