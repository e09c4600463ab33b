import { defineConfig } from '@playwright/test'

/**
 * Browser tests in real Chromium: Debian's by default (no browser download needed),
 * CHROMIUM_PATH for another one. Run them with `npm run test:e2e`, which builds the page
 * and runs Playwright inside scripts/netns-run so WebRTC has a non-loopback interface.
 */
export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--disable-background-networking',
        '--disable-gpu',
      ],
    },
    permissions: ['camera', 'microphone'],
    trace: 'retain-on-failure',
  },
})
