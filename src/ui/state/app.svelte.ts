import { describeError } from '../shared/errors'
import { isMode, MODES, type Mode } from './modes'
import type { RTMConfig } from '../../sdk'
import { Session, type SignInDetails } from './session.svelte'

/** Where the last user id is remembered between visits. */
export const LAST_USER_KEY = 'signal-kit:last-user-id'
export const DEFAULT_APP_ID = 'demo'

/** What the sign-in form holds, with its validation. */
export class SignInForm {
  userId = $state('')
  appId = $state(DEFAULT_APP_ID)
  mode = $state<Mode>('relay')
  token = $state('')
  #error = $state<string | null>(null)

  get error(): string | null { return this.#error }
  set error(value: string | null) { this.#error = value }
  get modes() { return MODES }

  /** The details to sign in with, or null (and an error to show) when the form is not valid. */
  validate(): SignInDetails | null {
    const userId = this.userId.trim()
    const appId = this.appId.trim()
    if (!userId) return this.#fail('Enter a user id.')
    if (!appId) return this.#fail('Enter an app id.')
    if (!MODES.find((mode) => mode.id === this.mode)?.available) return this.#fail(`Mode "${this.mode}" is not available yet.`)
    this.#error = null
    return { userId, appId, mode: this.mode, token: this.token.trim() || undefined }
  }

  #fail(message: string): null {
    this.#error = message
    return null
  }
}

/**
 * The app as a whole: signed out (the form) or signed in (a Session). `?user=alice`
 * (with optional `&app=` and `&mode=`) signs in straight away, for links and tests.
 */
export class AppState {
  readonly form = new SignInForm()
  #session = $state.raw<Session | null>(null)
  #busy = $state(false)
  #config: RTMConfig = {}

  constructor(
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null = globalThis.localStorage ?? null,
    search = globalThis.location?.search ?? '',
    /** For tests and embedding: RTM options such as the relay's `url`. */
    rtmConfig: RTMConfig = {},
  ) {
    this.#config = { ...rtmConfig }
    this.form.userId = this.#remembered()
    const params = new URLSearchParams(search)
    const app = params.get('app')
    const mode = params.get('mode')
    if (app) this.form.appId = app
    if (isMode(mode)) this.form.mode = mode
    // `?presenceTimeout=5` (seconds): how long the coordinator keeps us after the tab is gone (tests, demos).
    const presenceTimeout = Number(params.get('presenceTimeout'))
    if (presenceTimeout > 0) this.#config.presenceTimeout = presenceTimeout
    const user = params.get('user')
    if (user) {
      this.form.userId = user
      void this.signIn()
    }
  }

  get session(): Session | null { return this.#session }
  get busy(): boolean { return this.#busy }

  async signIn(): Promise<void> {
    const details = this.form.validate()
    if (!details || this.#busy) return
    this.#busy = true
    try {
      this.#session = await Session.start(details, this.#config)
      this.#remember(details.userId)
    } catch (error) {
      this.form.error = error instanceof Error ? error.message : String(error)
    } finally {
      this.#busy = false
    }
  }

  async signOut(): Promise<void> {
    const session = this.#session
    this.#session = null
    if (!session) return
    try {
      await session.logout()
    } catch (error) {
      // The session is gone either way; say why logout did not reach the coordinator.
      this.form.error = `Signed out locally; logout failed: ${describeError(error)}`
    }
  }

  destroy(): void {
    this.#session?.destroy()
    this.#session = null
  }

  #remembered(): string {
    try {
      return this.storage?.getItem(LAST_USER_KEY) ?? ''
    } catch {
      return '' // storage disabled (private mode, sandboxed frame): start empty
    }
  }

  #remember(userId: string): void {
    try {
      this.storage?.setItem(LAST_USER_KEY, userId)
    } catch (error) {
      console.warn('could not remember the user id', error)
    }
  }
}
