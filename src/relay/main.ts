import { fileURLToPath } from 'node:url'
import { SqliteStore } from '../store/sqlite-store'
import { startRelay } from './server'

/** `npm start`: the relay serving the built page; PORT, HOST, TOKEN_SECRET, LOG_LEVEL, DATA_DIR from the environment. */
const staticDir = fileURLToPath(new URL('../../dist', import.meta.url))
/** Metadata and lock definitions live here (SQLite); default `data/` in the project folder. */
const dataDir = process.env.DATA_DIR || fileURLToPath(new URL('../../data', import.meta.url))
const relay = await startRelay({
  port: Number(process.env.PORT ?? 8080),
  host: process.env.HOST ?? '127.0.0.1',
  tokenSecret: process.env.TOKEN_SECRET || undefined,
  staticDir,
  store: await SqliteStore.open(dataDir),
  onStoreFailure: () => process.exit(1),
})
relay.logger.info({ dataDir }, 'durable store (metadata, locks)')

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    relay.logger.info({ signal }, 'shutting down')
    void relay.close().then(() => process.exit(0))
  })
}
