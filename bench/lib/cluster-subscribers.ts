import { fileURLToPath } from 'node:url'
import { ClientProcessPool, mergeOpened, type ClientCommand, type OpenedReport } from './client-process'

type OpenCommand = { cmd: 'open'; url: string; appId: string; userIds: string[]; channels: string[]; concurrency: number }
export type SubscriberCommand = ClientCommand<OpenCommand>
export type SubscriberOpenReport = OpenedReport

const WORKER = fileURLToPath(new URL('./cluster-subscriber-worker.ts', import.meta.url))

/**
 * Light subscribers in several client processes, as ClientPool (bench/lib/client-pool.ts)
 * but with sessions that outlive a long round (see cluster-subscriber-worker.ts).
 */
export class SubscriberPool extends ClientProcessPool<OpenCommand> {
  constructor(size: number) {
    super(WORKER, size)
  }

  /** Logs `userIds` in to `appId` and subscribes each to `channels`, spread over the processes, `concurrency` at a time per process. */
  async open(url: string, appId: string, userIds: string[], channels: string[], concurrency = 64): Promise<SubscriberOpenReport> {
    const started = performance.now()
    const reports = await this.openShares<string, SubscriberOpenReport>(userIds, (share) => ({ cmd: 'open', url, appId, userIds: share, channels, concurrency }))
    return mergeOpened(reports, started)
  }
}
