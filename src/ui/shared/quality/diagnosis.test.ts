import { describe, expect, it } from 'vitest'
import type { DiagnosisReport } from '../../../sdk'
import { Diagnosis, reportJson } from './diagnosis.svelte'
import { report } from './test-stats'

describe('diagnosis control', () => {
  it('keeps the report and copies it as indented JSON', async () => {
    const written: string[] = []
    const diagnosis = new Diagnosis(async () => report(), () => ({ writeText: async (text: string) => { written.push(text) } }))
    await diagnosis.run()
    expect(diagnosis.state).toBe('done')
    expect(diagnosis.checks.length).toBe(10)
    await diagnosis.copy()
    expect(diagnosis.copyState).toBe('copied')
    expect(JSON.parse(written[0])).toEqual(report())
    expect(written[0]).toBe(reportJson(report()))
    expect(written[0]).toContain('\n  "diag_error": "ok"')
    diagnosis.destroy()
  })

  it('says why diagnose failed, and that copying failed when there is no clipboard', async () => {
    const diagnosis = new Diagnosis(async () => { throw new Error('not in a call') }, () => undefined)
    await diagnosis.run()
    expect([diagnosis.state, diagnosis.error]).toEqual(['failed', 'not in a call'])
    const copyless = new Diagnosis(async () => report(), () => undefined)
    await copyless.run()
    const warn = console.warn
    console.warn = () => {}
    await copyless.copy()
    console.warn = warn
    expect(copyless.copyState).toBe('failed')
    diagnosis.destroy()
    copyless.destroy()
  })

  it('drops the answer of an older run', async () => {
    const answers: ((report: DiagnosisReport) => void)[] = []
    const diagnosis = new Diagnosis(() => new Promise((resolve) => answers.push(resolve)))
    const first = diagnosis.run()
    const second = diagnosis.run()
    answers[1](report({ diag_error: 'newer' }))
    answers[0](report({ diag_error: 'older' }))
    await Promise.all([first, second])
    expect(diagnosis.report?.diag_error).toBe('newer')
    diagnosis.destroy()
  })
})
