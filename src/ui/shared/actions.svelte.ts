import { explainError, userError, type UserError } from './errors'

/**
 * What a panel's buttons run: `busy` while a blocking action runs (the panel disables its
 * buttons), `error` the last failure in words, cleared when the next action starts.
 */
export class Actions {
  #busy = $state(false)
  #error = $state<UserError | null>(null)

  get busy(): boolean { return this.#busy }
  get error(): UserError | null { return this.#error }

  /** Shows `message` as the error (or clears it): a failure that did not throw, an error event. */
  show(error: string | UserError | null): void {
    this.#error = typeof error === 'string' ? userError(error) : error
  }

  /** Runs `action`; one that is not `blocking` (a wait in a lock's line) leaves the panel usable. */
  async run(action: () => Promise<void>, blocking = true): Promise<void> {
    if (blocking) this.#busy = true
    this.#error = null
    try {
      await action()
    } catch (error) {
      this.#error = explainError(error)
    } finally {
      if (blocking) this.#busy = false
    }
  }
}
