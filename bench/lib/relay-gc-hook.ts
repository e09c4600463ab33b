import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * The relay exactly as `npm start` runs it (src/relay/main.ts of the working directory:
 * PORT, DATA_DIR, TOKEN_SECRET, LOG_LEVEL from the environment), plus one hook: SIGUSR2 runs
 * a full garbage collection (node --expose-gc) and writes `gc-done <n>` to stderr, so a
 * caller reads /healthz memory after the collection rather than racing it.
 */
let collections = 0
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.() // a second pass frees what the first one's finalizers released
  process.stderr.write(`gc-done ${++collections}\n`)
})
// The working directory, not this file's checkout: RelayChild may run another checkout's relay.
await import(pathToFileURL(join(process.cwd(), 'src/relay/main.ts')).href)

export {}
