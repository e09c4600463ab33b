/**
 * Both sides of the small IPC protocol of the bench's client processes: the parent sends
 * `{ ...command, reqId }`, the child answers `{ reqId, reply }`. One copy, so that ClientPool
 * and SubscriberPool (and their workers) cannot drift apart.
 */
import { fork, type ChildProcess } from 'node:child_process'

interface Waiting { worker: ChildProcess; resolve(reply: unknown): void; reject(error: Error): void }

/** `size` child processes running `workerFile` under tsx; a request to a process that exits is rejected. */
export class ForkedWorkers<Command extends object> {
  readonly #workers: ChildProcess[]
  readonly #waiting = new Map<number, Waiting>()
  #nextReq = 1

  constructor(workerFile: string, size: number) {
    this.#workers = Array.from({ length: size }, () => {
      const child = fork(workerFile, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      child.on('message', (message: { reqId: number; reply: unknown }) => {
        this.#waiting.get(message.reqId)?.resolve(message.reply)
        this.#waiting.delete(message.reqId)
      })
      child.on('exit', (code) => {
        for (const [reqId, waiting] of this.#waiting) {
          if (waiting.worker !== child) continue
          waiting.reject(new Error(`client process exited with code ${code}`))
          this.#waiting.delete(reqId)
        }
      })
      return child
    })
  }

  get size(): number {
    return this.#workers.length
  }

  /** Sends `command` to process number `index` and resolves with its reply. */
  ask<T>(index: number, command: Command): Promise<T> {
    const worker = this.#workers[index]
    const reqId = this.#nextReq++
    return new Promise((resolve, reject) => {
      this.#waiting.set(reqId, { worker, resolve: resolve as (reply: unknown) => void, reject })
      worker.send({ ...command, reqId })
    })
  }

  /** Sends `command` to every process; the replies in process order. */
  all<T>(command: Command): Promise<T[]> {
    return Promise.all(this.#workers.map((_, index) => this.ask<T>(index, command)))
  }

  /** Disconnects every process (a worker exits on disconnect, see serveParent) and waits for it to exit. */
  close(): Promise<void> {
    return Promise.all(this.#workers.map((worker) => new Promise<void>((resolve) => {
      if (worker.exitCode !== null) return resolve()
      worker.once('exit', () => resolve())
      worker.disconnect()
    }))).then(() => undefined)
  }
}

/**
 * The child's side: answers each command with `handle`'s result (`{}` for none), in the order
 * the handlers finish. The process exits when the parent disconnects, so it never outlives the bench.
 */
export function serveParent<Command extends object>(handle: (command: Command) => unknown): void {
  process.on('message', async (message: Command & { reqId: number }) => {
    const reply = (await handle(message)) ?? {}
    process.send!({ reqId: message.reqId, reply })
  })
  process.on('disconnect', () => process.exit(0))
}
