import { defineConfig } from '@playwright/test'
import { CHROMIUM_ARGS } from './e2e/chromium-args'

/**
 * Browser tests in real Chromium: Debian's by default (no browser download needed),
 * CHROMIUM_PATH for another one. Run them with `npm run test:e2e`, which builds the page
 * and runs Playwright inside scripts/netns-run so WebRTC has a non-loopback interface.
 */
const SFU_SPECS = /rooms-sfu.*\.spec\.ts$/

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: 'list',
  // Tests wait on conditions, so headroom costs nothing when they pass; on a busy 2-core machine
  // the longer two-browser flows (storage-locks: ~50 s on a quiet one) need it.
  timeout: 90_000,
  // Screenshots (e2e/ui-quality.spec.ts): a small tolerance for antialiasing between Chromium
  // builds; a layout that moves still differs by far more.
  // 20 s per expectation: a page's first render and a tab election took over 10 s on a busy 2-core box.
  // Screenshots keep their names whatever the project (main, sfu).
  snapshotPathTemplate: '{snapshotDir}/{testFileDir}/{testFileName}-snapshots/{arg}{-snapshotSuffix}{ext}',
  expect: { timeout: 20_000, toHaveScreenshot: { maxDiffPixelRatio: 0.01, animations: 'disabled', caret: 'hide' } },
  use: {
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    },
    permissions: ['camera', 'microphone'],
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'main', testIgnore: SFU_SPECS },
    // SFU rooms put seven Chromiums and a forwarding worker on the box: they run last, one at a
    // time, with nothing beside them (beside another spec on two cores, joins timed out). One
    // retry: a late joiner's first frame (≤ 2 s, 850 ms here) waits on werift's DTLS handshake,
    // plain JavaScript in the worker, which took 4.6 s once on a starved box (the run took 27 min).
    { name: 'sfu', testMatch: SFU_SPECS, workers: 1, retries: 1, dependencies: ['main'] },
  ],
})
