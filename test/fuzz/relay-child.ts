/**
 * The relay exactly as `npm start` runs it (src/relay/main.ts: PORT, DATA_DIR, TOKEN_SECRET,
 * LOG_LEVEL from the environment), plus one hook for the fuzz tests: SIGUSR2 runs a full
 * garbage collection (node --expose-gc) and writes `gc-done <n>` to stderr, so a test reads
 * /healthz memory after the collection rather than racing it.
 */
let collections = 0
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.() // a second pass frees what the first one's finalizers released
  process.stderr.write(`gc-done ${++collections}\n`)
})
await import('../../src/relay/main')

export {}
