import { describe, expect, it } from 'vitest'
import { ICE_DISCONNECTED_RESTART_MS, ICE_RESTART_RETRY_MS, IceRecovery, type Timers } from './ice-recovery'

/** Timers on a hand-moved clock. */
function clock() {
  let now = 0
  let pending: { at: number; run: () => void; id: number }[] = []
  let nextId = 1
  const timers: Timers = {
    set(run, ms) {
      const id = nextId++
      pending.push({ at: now + ms, run, id })
      return id
    },
    clear(id) { pending = pending.filter((timer) => timer.id !== id) },
  }
  return {
    timers,
    now: () => now,
    advance(ms: number) {
      const until = now + ms
      for (;;) {
        const due = pending.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0]
        if (!due) break
        pending = pending.filter((timer) => timer !== due)
        now = due.at
        due.run()
      }
      now = until
    },
  }
}

const GRACE = 30_000

function watched(offerer = true) {
  const time = clock()
  const log: string[] = []
  const recovery = new IceRecovery(
    { restart: () => log.push(`restart@${time.now()}`), giveUp: () => log.push(`give up@${time.now()}`), changed: () => log.push(`troubled=${recovery.troubled}@${time.now()}`) },
    { offerer, graceMs: GRACE, timers: time.timers, now: time.now },
  )
  return { recovery, time, log }
}

describe('when a call’s media path is restarted', () => {
  it(`a path disconnected for ${ICE_DISCONNECTED_RESTART_MS} ms is restarted by the caller, and again every ${ICE_RESTART_RETRY_MS} ms until it is back`, () => {
    const { recovery, time, log } = watched()
    recovery.update('disconnected')
    time.advance(ICE_DISCONNECTED_RESTART_MS - 1)
    expect(log).toEqual(['troubled=true@0'])
    time.advance(1 + 2 * ICE_RESTART_RETRY_MS)
    recovery.update('connected')
    time.advance(GRACE)
    expect(log).toEqual(['troubled=true@0', 'restart@3000', 'restart@9000', 'restart@15000', 'troubled=false@15000'])
  })

  it('a path that recovers by itself within the delay is not restarted', () => {
    const { recovery, time, log } = watched()
    recovery.update('disconnected')
    time.advance(1000)
    recovery.update('connected')
    time.advance(GRACE)
    expect(log).toEqual(['troubled=true@0', 'troubled=false@1000'])
  })

  it('a failed path is restarted at once; the retry timer then paces further failures', () => {
    const { recovery, time, log } = watched()
    recovery.update('failed')
    time.advance(100)
    recovery.update('failed')
    time.advance(ICE_RESTART_RETRY_MS)
    expect(log).toEqual(['troubled=true@0', 'restart@0', 'restart@6000'])
  })

  it('the callee never restarts: it answers the caller’s offers', () => {
    const { recovery, time, log } = watched(false)
    recovery.update('failed')
    time.advance(GRACE - 1)
    expect(log).toEqual(['troubled=true@0'])
  })

  it('no offers while the signaling is down; once the call is re-bound a troubled path restarts at once', () => {
    const { recovery, time, log } = watched()
    recovery.paused()
    recovery.update('disconnected')
    time.advance(10_000)
    expect(log).toEqual(['troubled=true@0'])
    recovery.resumed()
    expect(log).toEqual(['troubled=true@0', 'restart@10000'])
    recovery.update('connected')
    recovery.resumed() // a re-bind with a healthy path does nothing
    expect(log.at(-1)).toBe('troubled=false@10000')
  })

  it(`gives up after ${GRACE / 1000} s of trouble, restarts or not`, () => {
    const { recovery, time, log } = watched()
    recovery.update('disconnected')
    recovery.update('connecting') // a restart in progress keeps the clock running
    time.advance(GRACE)
    expect(log.at(-1)).toBe(`give up@${GRACE}`)
    recovery.destroy()
  })
})
