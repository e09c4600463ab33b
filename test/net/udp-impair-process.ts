import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startUdpImpairment, type Impairment, type UdpImpairment, type UdpImpairmentOptions } from './udp-impair'

type Counts = ReturnType<UdpImpairment['stats']>

/** A UdpImpairment in another process: the same controls, its counts asked for over IPC. */
export interface UdpImpairmentProcess {
  address: string
  port: number
  setImpairment(impairment: Impairment): void
  stats(): Promise<Counts>
  close(): Promise<void>
}

/**
 * A UDP impairment (udp-impair.ts) in a process of its own, controlled over IPC: a test
 * process is busy (Playwright's protocol, traces), and every stall of its event loop would
 * hold forwarded packets back, adding delay and jitter nobody asked for.
 */
export async function startUdpImpairmentProcess(options: UdpImpairmentOptions): Promise<UdpImpairmentProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  /** The child's next message: requests go one at a time. */
  const ask = <T>(request: object): Promise<T> => new Promise((resolve, reject) => {
    const failed = () => reject(new Error('the impairment process exited'))
    child.once('message', (message) => {
      child.off('exit', failed)
      resolve(message as T)
    })
    child.once('exit', failed)
    child.send(request)
  })
  const { address, port } = await ask<{ address: string; port: number }>({ start: options })
  return {
    address,
    port,
    setImpairment: (impairment) => { child.send({ set: impairment }) },
    stats: () => ask<Counts>({ stats: true }),
    async close() {
      child.kill()
      await exited
    },
  }
}

if (process.argv.includes('--child')) {
  let impairment: UdpImpairment | null = null
  process.on('message', (message: { start?: UdpImpairmentOptions; set?: Impairment; stats?: true }) => {
    if (message.start) void startUdpImpairment(message.start).then((started) => { impairment = started; process.send!({ address: started.address, port: started.port }) })
    if (message.set) impairment?.setImpairment(message.set)
    if (message.stats) process.send!(impairment?.stats() ?? { forwarded: 0, dropped: 0 })
  })
  process.on('disconnect', () => process.exit(0)) // the test process went: so does its impairment
}
