import type { TestProject } from 'vitest/node'
import { startRedis } from '../../src/relay/cluster/local-processes'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The one Redis of the spread run; every test cluster keeps to its own key prefix in it. */
    spreadRedisUrl: string
  }
}

/** One Debian redis-server for the whole spread run (vitest.spread.config.ts), stopped and removed after it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis()
  project.provide('spreadRedisUrl', redis.url)
  return () => redis.destroy()
}
