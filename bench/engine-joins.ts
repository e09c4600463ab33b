/**
 * `npx tsx bench/engine-joins.ts` — engine-only micro-benchmark (issue 6): the cost of one more
 * session subscribing to a channel that already has 2k / 5k / 10k members, without sockets.
 * Each size logs in and subscribes members up to the size, then times the next JOINS_MEASURED
 * joins (µs per join, best of 3 runs). `withPresence: false` as in the relay bench's join storm;
 * the "presence on" row has every member listening to presence as well.
 */
import { AppEngine } from '../src/engine/app-engine'
import { Effects } from '../src/engine/effects'

const SIZES = [2_000, 5_000, 10_000]
const JOINS_MEASURED = 500
const RUNS = 3

function joinCostUs(members: number, withPresence: boolean): number {
  const engine = new AppEngine('bench')
  const now = 1_000_000
  let id = 1
  const join = (i: number) => {
    const fx = new Effects()
    const conn = `c${i}`
    engine.login(conn, { appId: 'bench', userId: `u${i}`, heartbeatInterval: 1800 }, { tokenExpiresAt: null, newResumeKey: `k${i}` }, fx, now)
    engine.handle(conn, id++, { op: 'subscribe', args: { channelName: 'storm', withPresence } }, fx, now)
  }
  for (let i = 0; i < members; i++) join(i)
  const start = process.hrtime.bigint()
  for (let i = members; i < members + JOINS_MEASURED; i++) join(i)
  return Number(process.hrtime.bigint() - start) / 1000 / JOINS_MEASURED
}

for (const withPresence of [false, true]) {
  for (const size of SIZES) {
    const best = Math.min(...Array.from({ length: RUNS }, () => joinCostUs(size, withPresence)))
    console.log(`join into ${size.toLocaleString('en-US')} members (presence ${withPresence ? 'on' : 'off'}): ${best.toFixed(1)} µs/join`)
  }
}
