import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Compiles the UI's rune modules (.svelte.ts) so their state classes can be tested in Node.
  plugins: [svelte()],
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // Three files at a time, where vitest's default on a 2-core box is one: most integration
    // tests wait on real servers and sockets (about 1.5 cores busy on average). Measured on
    // 2 cores: 1 → 260 s, 2 → 135 s, 3 → 92 s, all passing (4: 79 s, with the box saturated).
    maxWorkers: 3,
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
