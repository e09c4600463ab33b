/**
 * `npm run lighthouse` — Lighthouse 12 against the real relay serving the built page:
 * the sign-in page (`/`) and the signed-in workspace (`/?user=lighthouse`, the app signs
 * in straight away), each as a phone (Lighthouse's default config: Moto G class, slow 4G,
 * 4× CPU slowdown) and as a desktop (its desktop config). Every category must score at
 * least 95; the exit status is 1 when one does not, and the audits that cost it points
 * are listed.
 *
 *   npm run lighthouse                          one run per page and form factor (about 2 minutes)
 *   npm run lighthouse -- --runs 3              the median run (by performance) of three
 *   npm run lighthouse -- --static-dir dist     measure a build made before instead
 *
 * The page is built from this checkout (`vite build`) into a temp folder of its own: dist/
 * may be rebuilt under a running relay by someone else's `npm run test:e2e`, and the relay
 * reads its folder once at start. The relay is `src/relay/main.ts` serving that folder
 * (STATIC_DIR) on a free loopback port with an empty DATA_DIR (bench/lib/relay-child.ts);
 * each run gets a fresh Debian Chromium (CHROME_PATH, default /usr/bin/chromium). Both are
 * stopped however the script ends. The table goes to stdout and to
 * bench/results/lighthouse.json and lighthouse.md; each reported run's full Lighthouse
 * result to bench/results/lighthouse-<page>-<form factor>.report.json.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launch, type LaunchedChrome } from 'chrome-launcher'
import lighthouse, { desktopConfig, type Config, type Result } from 'lighthouse'
import { RelayChild, THIS_CHECKOUT } from './lib/relay-child'
import { machine } from './lib/report'
import { commitOf } from './soak'

/** The score (0–100, as Lighthouse shows it) every category must reach. */
const THRESHOLD = 95
const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'] as const
type Category = typeof CATEGORIES[number]
const PAGES = [
  { name: 'sign-in', path: '/' },
  { name: 'workspace', path: '/?user=lighthouse' },
] as const
const FORM_FACTORS: { name: 'mobile' | 'desktop'; config: Config | undefined }[] = [
  { name: 'mobile', config: undefined }, // Lighthouse's default config is the mobile one
  { name: 'desktop', config: desktopConfig },
]
const CHROME_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium'
const CHROME_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]
/** Performance metrics shown beside the scores (Lighthouse audit ids). */
const METRICS = {
  fcp: 'first-contentful-paint', lcp: 'largest-contentful-paint', tbt: 'total-blocking-time', cls: 'cumulative-layout-shift', si: 'speed-index',
} as const
const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url))
/** A run Lighthouse could not finish (NO_FCP on a box busy with other work) is tried this often before the case fails. */
const ATTEMPTS_PER_RUN = 2

interface FailingAudit { id: string; title: string; score: number | null; displayValue?: string }
interface CaseResult {
  page: string
  path: string
  formFactor: 'mobile' | 'desktop'
  scores: Record<Category, number>
  /** Audits that cost points, for each category under THRESHOLD. */
  failing: Partial<Record<Category, FailingAudit[]>>
  metrics: Record<keyof typeof METRICS, string | undefined>
  /** Performance score of every run; the reported run is the median one. */
  performanceRuns: number[]
  /** Lighthouse's CPU benchmark of the host during the reported run (its mobile throttling assumes about 1000 or more). */
  benchmarkIndex: number
  /** Why Lighthouse could not audit the page (every attempt failed); the scores are then 0. */
  error?: string
  /** The reported run's full result, written beside the summary. */
  lhr?: Result
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? process.argv[at + 1] : undefined
}

/** `vite build` of this checkout into `outDir` (the project's vite.config.ts: compressed copies included). */
function build(outDir: string): void {
  console.log(`building the page into ${outDir}`)
  execFileSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], { cwd: THIS_CHECKOUT, stdio: 'inherit' })
}

/** The Chromium of the current run: killed on any exit, so none outlives the script. */
let chrome: LaunchedChrome | null = null
process.once('exit', () => chrome?.kill())

/** One Lighthouse run in a fresh Chromium: its result, or why it could not audit the page. */
async function audit(url: string, config: Config | undefined): Promise<Result | string> {
  chrome = await launch({ chromePath: CHROME_PATH, chromeFlags: CHROME_FLAGS, logLevel: 'silent' })
  try {
    const run = await lighthouse(url, { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: [...CATEGORIES] }, config)
    if (!run) return 'Lighthouse returned no result'
    return run.lhr.runtimeError ? `${run.lhr.runtimeError.code}: ${run.lhr.runtimeError.message}` : run.lhr
  } finally {
    chrome.kill()
    chrome = null
  }
}

async function auditWithRetry(url: string, config: Config | undefined, label: string): Promise<Result | string> {
  let outcome: Result | string = ''
  for (let attempt = 1; attempt <= ATTEMPTS_PER_RUN; attempt++) {
    outcome = await audit(url, config)
    if (typeof outcome !== 'string') return outcome
    console.log(`  ${label}: attempt ${attempt} failed — ${outcome}`)
  }
  return outcome
}

const scoreOf = (lhr: Result, category: Category) => Math.round((lhr.categories[category]?.score ?? 0) * 100)

/** The audits of `category` that count towards its score and did not get full marks. */
function failingAudits(lhr: Result, category: Category): FailingAudit[] {
  return (lhr.categories[category]?.auditRefs ?? [])
    .filter((ref) => ref.weight > 0)
    .map((ref) => lhr.audits[ref.id])
    .filter((result) => result && result.score !== null && result.score < 1)
    .map((result) => ({ id: result.id, title: result.title, score: result.score, displayValue: result.displayValue }))
}

function failedCase(page: typeof PAGES[number], formFactor: 'mobile' | 'desktop', error: string): CaseResult {
  const scores = Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<Category, number>
  const failing = Object.fromEntries(CATEGORIES.map((category) => [category, []]))
  const metrics = Object.fromEntries(Object.keys(METRICS).map((key) => [key, undefined])) as CaseResult['metrics']
  return { page: page.name, path: page.path, formFactor, scores, failing, metrics, performanceRuns: [], benchmarkIndex: NaN, error }
}

function summarize(page: typeof PAGES[number], formFactor: 'mobile' | 'desktop', runs: Result[]): CaseResult {
  const byPerformance = [...runs].sort((a, b) => scoreOf(a, 'performance') - scoreOf(b, 'performance'))
  const lhr = byPerformance[Math.floor((byPerformance.length - 1) / 2)]
  const scores = Object.fromEntries(CATEGORIES.map((category) => [category, scoreOf(lhr, category)])) as Record<Category, number>
  const failing: CaseResult['failing'] = {}
  for (const category of CATEGORIES) if (scores[category] < THRESHOLD) failing[category] = failingAudits(lhr, category)
  const metrics = Object.fromEntries(Object.entries(METRICS).map(([key, id]) => [key, lhr.audits[id]?.displayValue])) as CaseResult['metrics']
  return {
    page: page.name, path: page.path, formFactor, scores, failing, metrics,
    performanceRuns: runs.map((run) => scoreOf(run, 'performance')),
    benchmarkIndex: lhr.environment.benchmarkIndex,
    lhr,
  }
}

function markdown(results: CaseResult[], header: string): string {
  const lines = [
    `# Lighthouse (${header})`, '',
    `Every category must reach ${THRESHOLD}. Metrics: FCP, LCP, TBT, CLS, Speed Index of the reported run; CPU: Lighthouse's`,
    'benchmark index of the host during that run (its mobile CPU throttling assumes about 1000 or more; a lower one scores performance lower).', '',
    '| page | form factor | performance | accessibility | best practices | SEO | FCP | LCP | TBT | CLS | SI | CPU |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...results.map((r) => {
      const cell = (category: Category) => (r.scores[category] < THRESHOLD ? `**${r.scores[category]}** ✗` : String(r.scores[category]))
      const m = r.metrics
      return `| ${r.page} \`${r.path}\` | ${r.formFactor} | ${CATEGORIES.map(cell).join(' | ')} | ${m.fcp ?? '–'} | ${m.lcp ?? '–'} | ${m.tbt ?? '–'} | ${m.cls ?? '–'} | ${m.si ?? '–'} | ${Number.isNaN(r.benchmarkIndex) ? '–' : Math.round(r.benchmarkIndex)} |`
    }),
  ]
  const auditText = (a: FailingAudit) => `\`${a.id}\` (${a.displayValue ? `${a.displayValue}, ` : ''}score ${a.score})`
  const failures = results.flatMap((r) => (r.error
    ? [`- ${r.page} / ${r.formFactor}: not audited — ${r.error}`]
    : Object.entries(r.failing).map(([category, audits]) =>
      `- ${r.page} / ${r.formFactor}, ${category} ${r.scores[category as Category]}: ${audits.length === 0 ? '(no single audit below full marks)' : audits.map(auditText).join(', ')}`)))
  lines.push('', failures.length === 0 ? `All categories at ${THRESHOLD} or more.` : `Below ${THRESHOLD}, and the audits that cost points:\n\n${failures.join('\n')}`)
  return `${lines.join('\n')}\n`
}

async function main(): Promise<void> {
  const runs = Number(argument('runs') ?? 1)
  if (!Number.isInteger(runs) || runs < 1) {
    console.error('usage: npm run lighthouse -- [--runs N] [--static-dir DIR]')
    process.exit(2)
  }
  if (!existsSync(CHROME_PATH)) {
    console.error(`lighthouse: no Chromium at ${CHROME_PATH} (apt-get install chromium, or set CHROME_PATH)`)
    process.exit(2)
  }
  const prebuilt = argument('static-dir')
  const staticDir = prebuilt ? resolve(prebuilt) : mkdtempSync(join(tmpdir(), 'lighthouse-page-'))
  if (!prebuilt) process.once('exit', () => rmSync(staticDir, { recursive: true, force: true }))
  if (prebuilt && !existsSync(join(staticDir, 'index.html'))) {
    console.error(`lighthouse: no index.html in ${staticDir}`)
    process.exit(2)
  }
  if (!prebuilt) build(staticDir)
  const relay = await RelayChild.start({ logLevel: 'warn', env: { STATIC_DIR: staticDir } })
  const results: CaseResult[] = []
  let environment: Result['environment'] | null = null
  let lighthouseVersion = ''
  try {
    for (const page of PAGES) {
      for (const formFactor of FORM_FACTORS) {
        const lhrs: Result[] = []
        let error = ''
        for (let run = 1; run <= runs; run++) {
          const label = `${page.name} ${formFactor.name} run ${run}/${runs}`
          const started = performance.now()
          const outcome = await auditWithRetry(`${relay.url}${page.path}`, formFactor.config, label)
          if (typeof outcome === 'string') {
            error = outcome
            break
          }
          lhrs.push(outcome)
          environment = outcome.environment
          lighthouseVersion = outcome.lighthouseVersion
          console.log(`  ${label}: ${CATEGORIES.map((c) => `${c} ${scoreOf(outcome, c)}`).join(', ')}, CPU benchmark ${Math.round(outcome.environment.benchmarkIndex)} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
        }
        results.push(error ? failedCase(page, formFactor.name, error) : summarize(page, formFactor.name, lhrs))
      }
    }
  } finally {
    await relay.stop()
  }

  const commit = commitOf(THIS_CHECKOUT)
  const chromium = /Chrome\/[\d.]+/.exec(environment?.hostUserAgent ?? '')?.[0] ?? 'unknown'
  const header = `${prebuilt ? `${staticDir} served by ` : ''}${commit}, Lighthouse ${lighthouseVersion}, ${chromium}, ${runs === 1 ? 'one run' : `median of ${runs} runs`} each`
  const report = markdown(results, header)
  const pass = results.every((r) => !r.error && Object.keys(r.failing).length === 0)
  mkdirSync(RESULTS_DIR, { recursive: true })
  for (const r of results) if (r.lhr) writeFileSync(join(RESULTS_DIR, `lighthouse-${r.page}-${r.formFactor}.report.json`), JSON.stringify(r.lhr))
  writeFileSync(join(RESULTS_DIR, 'lighthouse.json'), `${JSON.stringify({
    ranAt: new Date().toISOString(), machine: machine(), commit, staticDir: prebuilt ? staticDir : 'built from this checkout',
    lighthouse: lighthouseVersion, chromium: environment?.hostUserAgent, chromeFlags: CHROME_FLAGS, runsPerCase: runs, threshold: THRESHOLD, pass,
    results: results.map(({ lhr: _full, ...summary }) => summary),
  }, null, 2)}\n`)
  writeFileSync(join(RESULTS_DIR, 'lighthouse.md'), report)
  console.log(`\n${report}\nresults in ${join(RESULTS_DIR, 'lighthouse.json')} and lighthouse.md`)
  console.log(pass ? 'lighthouse: PASS' : `lighthouse: FAIL (a category under ${THRESHOLD})`)
  process.exit(pass ? 0 : 1)
}

void main().catch((error: unknown) => {
  console.error('lighthouse:', error)
  process.exit(1)
})
