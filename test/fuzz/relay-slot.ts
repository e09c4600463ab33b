import { describeExit, RelayChild, type RelayChildOptions } from '../../bench/lib/relay-child'

/** How long a relay that stopped answering may take to exit before it is stopped for good. */
const EXIT_WAIT_MS = 5000

/**
 * One relay configuration shared by several tests: started on first use (with the gc hook,
 * for memory checks), started again if a test killed it (today's relay dies on the audit's
 * frames), stopped at the end.
 */
export class RelaySlot {
  readonly deaths: string[] = []
  private current: RelayChild | null = null
  private starting: Promise<RelayChild> | null = null

  constructor(private readonly options: RelayChildOptions = {}) {}

  async get(): Promise<RelayChild> {
    if (this.current?.alive) {
      if (await this.current.health()) return this.current
      // Not answering: it is probably exiting (a crash a previous test caused); wait for that, then replace it.
      await Promise.race([this.current.exited, new Promise((resolve) => setTimeout(resolve, EXIT_WAIT_MS))])
      if (this.current.alive) await this.current.stop()
    }
    if (this.current?.exit) {
      this.deaths.push(describeExit(this.current.exit))
      await this.current.stop()
      this.current = null
    }
    this.starting ??= RelayChild.start({ ...this.options, gcHook: true }).then((relay) => {
      this.current = relay
      this.starting = null
      return relay
    }, (error: unknown) => {
      this.starting = null
      throw error
    })
    return this.starting
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined)
    await this.current?.stop()
    this.current = null
  }
}
