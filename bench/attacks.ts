/**
 * `npm run attacks` — reproduces each finding of issue 11 against a relay and measures
 * it: crashed or not, peak RSS, what was refused (and with which code), what got through,
 * and the longest stall a bystander client saw.
 *
 *   npm run attacks                                           this checkout, label "after"
 *   npm run attacks -- --relay-dir /tmp/relay-before --label before
 *   npm run attacks -- --only 1-chat-easyrtc,5-connections   some attacks (ids in the table)
 *
 * The "before" relay is the code the audit ran against:
 *   git worktree add /tmp/relay-before 5db537a && ln -s "$PWD/node_modules" /tmp/relay-before/
 * (or `npm ci` there). Every attack gets a fresh relay (`tsx src/relay/main.ts` of
 * --relay-dir, its own process group, a free 127.0.0.1 port, an empty DATA_DIR) and stops
 * within 2 minutes; all traffic goes to loopback, every loop is bounded in count and time.
 * Other 127.x addresses stand in for other clients' addresses. The table goes to stdout
 * and bench/results/attacks-<label>.json. Takes about 4 minutes.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { resolve } from 'node:path'
import { machine } from './lib/report'
import { THIS_CHECKOUT } from './lib/relay-child'
import { runAttack, type AttackResult, type AttackSpec } from './lib/attack-kit'
import { CRASH_AND_IDENTITY_ATTACKS } from './lib/attacks-crash'
import { RESOURCE_ATTACKS } from './lib/attacks-resources'
import { commitOf, formatErrors } from './soak'

const ATTACKS: AttackSpec[] = [...CRASH_AND_IDENTITY_ATTACKS, ...RESOURCE_ATTACKS]

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? process.argv[at + 1] : undefined
}

async function main(): Promise<void> {
  const relayDir = resolve(argument('relay-dir') ?? THIS_CHECKOUT)
  const label = argument('label') ?? 'after'
  if (!/^[\w-]+$/.test(label)) throw new Error('--label: letters, digits, - and _ only')
  const only = argument('only')?.split(',')
  const selected = only ? ATTACKS.filter((attack) => only.includes(attack.id)) : ATTACKS
  const logLevel = 'warn'
  const commit = commitOf(relayDir)
  console.log(`attacks (${label}): ${selected.length} against ${relayDir} (${commit}), one fresh relay each`)
  const results: AttackResult[] = []
  for (const attack of selected) {
    const started = performance.now()
    const result = await runAttack(attack, relayDir, logLevel)
    results.push(result)
    console.log(`  ${attack.id}: ${result.crashed ? 'CRASHED' : 'alive'}, peak ${result.peakRssMiB} MiB, ${result.delivered} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
  }
  printResults(`Issue 11 attacks — ${label} (${commit})`, results)
  const dir = fileURLToPath(new URL('./results', import.meta.url))
  mkdirSync(dir, { recursive: true })
  const file = `${dir}/attacks-${label}.json`
  writeFileSync(file, `${JSON.stringify({ label, ranAt: new Date().toISOString(), relayDir, commit, machine: machine(), results }, null, 2)}\n`)
  console.log(`\nresults in ${file}`)
  process.exit(0)
}

/** The table, left-aligned (cells are sentences), then each attack's title and notes. */
function printResults(title: string, results: AttackResult[]): void {
  const columns = ['#', 'crashed', 'RSS base→peak MiB', 'kernel TCP +MiB', 'refused (code×n)', 'delivered / accepted', 'bystander stall ms (p99)']
  const rows = results.map((r) => [
    r.id, r.crashed ? 'YES' : 'no', `${r.baseRssMiB} → ${r.peakRssMiB}`, String(r.peakTcpBuffersMiB ?? '–'), formatErrors(r.refused) || '–', r.delivered,
    r.bystanderLost ? `${r.stallMs}, then lost${r.crashed ? ' (relay exited)' : ' (closed by the relay)'}` : `${r.stallMs} (${r.bystanderP99Ms})`,
  ])
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ').trimEnd()
  console.log(`\n## ${title}\n`)
  console.log(line(columns))
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
  for (const row of rows) console.log(line(row))
  console.log('')
  for (const r of results) {
    console.log(`- ${r.id}: ${r.title}${r.exit ? ` — ${r.exit}` : ''}${r.notes.length ? ` — ${r.notes.join('; ')}` : ''}`)
  }
}

void main()
