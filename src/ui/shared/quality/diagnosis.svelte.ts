import type { DiagnosisReport } from '../../../sdk'
import { describeError } from '../errors'
import { diagnosisChecks, type DiagnosisCheck } from './quality-words'

/** How long "Copied" stays next to the copy button. */
export const COPIED_NOTICE_MS = 3_000

/** The report as the clipboard gets it: the SDK's JSON, indented for reading in a ticket. */
export function reportJson(report: DiagnosisReport): string {
  return JSON.stringify(report, null, 2)
}

/**
 * One "Diagnose" control: runs the SDK's diagnose (a few seconds: it asks the other party for
 * its send side), keeps the report with its checks in words, and copies it as JSON.
 */
export class Diagnosis {
  readonly #diagnose: () => Promise<DiagnosisReport>
  readonly #clipboard: () => Pick<Clipboard, 'writeText'> | undefined
  #state = $state<'idle' | 'running' | 'done' | 'failed'>('idle')
  #report = $state.raw<DiagnosisReport | null>(null)
  #error = $state<string | null>(null)
  #copy = $state<'idle' | 'copied' | 'failed'>('idle')
  #copyTimer: ReturnType<typeof setTimeout> | undefined
  /** Each run gets a number: a slow answer to an older run is dropped. */
  #generation = 0

  constructor(diagnose: () => Promise<DiagnosisReport>, clipboard: () => Pick<Clipboard, 'writeText'> | undefined = () => globalThis.navigator?.clipboard) {
    this.#diagnose = diagnose
    this.#clipboard = clipboard
  }

  get state(): 'idle' | 'running' | 'done' | 'failed' { return this.#state }
  get report(): DiagnosisReport | null { return this.#report }
  /** The checks of the last report, failures first. */
  get checks(): DiagnosisCheck[] { return this.#report ? diagnosisChecks(this.#report) : [] }
  /** Why diagnose itself failed (not a failed check: that is in the report). */
  get error(): string | null { return this.#error }
  get copyState(): 'idle' | 'copied' | 'failed' { return this.#copy }

  async run(): Promise<void> {
    const generation = ++this.#generation
    this.#state = 'running'
    this.#error = null
    try {
      const report = await this.#diagnose()
      if (generation !== this.#generation) return
      this.#report = report
      this.#state = 'done'
    } catch (error) {
      if (generation !== this.#generation) return
      this.#error = describeError(error)
      this.#state = 'failed'
    }
  }

  async copy(): Promise<void> {
    if (!this.#report) return
    clearTimeout(this.#copyTimer)
    try {
      const clipboard = this.#clipboard()
      if (!clipboard) throw new Error('no clipboard here')
      await clipboard.writeText(reportJson(this.#report))
      this.#copy = 'copied'
    } catch (error) {
      console.warn('could not copy the diagnosis', error)
      this.#copy = 'failed'
    }
    this.#copyTimer = setTimeout(() => { this.#copy = 'idle' }, COPIED_NOTICE_MS)
  }

  destroy(): void {
    this.#generation++
    clearTimeout(this.#copyTimer)
  }
}
