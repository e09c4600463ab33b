/**
 * HOOK — call setup time (issue 3). Another engineer fills this in; `npm run bench -- calls`
 * already runs it and stores what `run` returns under results.parts.calls.
 *
 * What it should measure: click "call" → ICE connected (and → first remote video frame),
 * p50/p99 over N calls between two headless Chromium tabs inside `scripts/netns-run`
 * (WebRTC never uses loopback, FACTS.md). Print a table with `context.print(...)` and
 * return the figures. Until then it skips with a note.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { BenchPart } from './lib/part'

const CALL_UI = fileURLToPath(new URL('../src/ui/calls', import.meta.url))

export const callsPart: BenchPart = {
  name: 'calls',
  description: 'call setup time, click → ICE connected (hook: bench/calls.ts)',
  async run() {
    if (!existsSync(CALL_UI)) return { skipped: 'the call UI (src/ui/calls) is not there yet' }
    return { skipped: 'bench/calls.ts is a hook: the call setup measurement is not written yet' }
  },
}
