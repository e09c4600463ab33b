import { fileURLToPath } from 'node:url'
import type { ProtocolName } from './protocols'
import { ClientProcessPool, mergeOpened, type ClientCommand, type OpenedReport } from './client-process'

export { sum, type StatsReport } from './client-process'
export type BenchUser = { userId: string; channels: string[] }
type OpenCommand = { cmd: 'open'; url: string; protocol: ProtocolName; users: BenchUser[]; concurrency: number }
export type WorkerCommand = ClientCommand<OpenCommand>
export interface OpenReport extends OpenedReport { addresses: Record<string, string> }

const WORKER = fileURLToPath(new URL('./client-worker.ts', import.meta.url))

/** Several client processes (child_process.fork), so that one client event loop is never the bottleneck. */
export class ClientPool extends ClientProcessPool<OpenCommand> {
  constructor(size: number) {
    super(WORKER, size)
  }

  /** Logs `users` in, spread over the processes; connect+login+subscribe run `concurrency` at a time per process. */
  async open(url: string, protocol: ProtocolName, users: BenchUser[], concurrency = 64): Promise<OpenReport> {
    const started = performance.now()
    const reports = await this.openShares<BenchUser, OpenReport>(users, (share) => ({ cmd: 'open', url, protocol, users: share, concurrency }))
    return { ...mergeOpened(reports, started), addresses: Object.assign({}, ...reports.map((r) => r.addresses)) }
  }

  async closeConnections(): Promise<void> {
    await this.workers.all({ cmd: 'close' })
  }
}
