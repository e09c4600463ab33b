import { explainError, userError, type UserError } from '../shared/errors'
import { SAME_USER_ELSEWHERE, type SessionEnd } from '../shell/link-words'
import { isMode, MODES, type Mode } from './modes'
import type { LinkStateEvent, RTMConfig } from '../../sdk'
import { Session, type SignInDetails } from './session.svelte'
import { forgetKept, readKept, writeKept } from './kept'

/** Where the last user id is remembered between visits. */
export const LAST_USER_KEY = 'signal-kit:last-user-id'
/** Where this tab keeps its signed-in session across a reload (sessionStorage: this tab only). */
export const TAB_SESSION_KEY = 'signal-kit:session'
export const DEFAULT_APP_ID = 'demo'

type KeyValueStore = Pick<Storage, 'getItem' | 'setItem'>
type TabStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

/** What the sign-in form holds, with its validation. */
export class SignInForm {
  userId = $state('')
  appId = $state(DEFAULT_APP_ID)
  mode = $state<Mode>('relay')
  token = $state('')
  #error = $state<UserError | null>(null)

  get error(): UserError | null { return this.#error }
  set error(value: UserError | null) { this.#error = value }
  get modes() { return MODES }

  /** The details to sign in with, or null (and an error to show) when the form is not valid. */
  validate(): SignInDetails | null {
    const userId = this.userId.trim()
    const appId = this.appId.trim()
    if (!userId) return this.#fail('Enter a user id.')
    if (!appId) return this.#fail('Enter an app id.')
    if (!MODES.find((mode) => mode.id === this.mode)?.available) return this.#fail(`Mode "${this.mode}" is not available yet.`, 'Pick another mode.')
    this.#error = null
    return { userId, appId, mode: this.mode, token: this.token.trim() || undefined }
  }

  fill(details: SignInDetails): void {
    this.userId = details.userId
    this.appId = details.appId
    this.mode = details.mode
    this.token = details.token ?? ''
  }

  #fail(message: string, action?: string): null {
    this.#error = userError(message, action)
    return null
  }
}

/** The session kept for this tab, or null when there is none (or it cannot be read). */
export function readTabSession(store: Pick<Storage, 'getItem'> | null): SignInDetails | null {
  const raw = readKept(store, TAB_SESSION_KEY)
  if (!raw) return null
  try {
    const value: unknown = JSON.parse(raw)
    if (typeof value !== 'object' || value === null) return null
    const { userId, appId, mode, token } = value as Record<string, unknown>
    if (typeof userId !== 'string' || !userId || typeof appId !== 'string' || !appId || !isMode(mode as string)) return null
    return { userId, appId, mode: mode as Mode, token: typeof token === 'string' && token ? token : undefined }
  } catch {
    return null // not ours, or from an older version: sign in by hand
  }
}

/** Startup and test seams of the app. */
export interface AppOptions {
  /** Where this tab's session is kept across a reload; `sessionStorage` by default. */
  tabStorage?: TabStore | null
  /** Starts a signed-in session (`Session.start`; a fake in unit tests). */
  start?: (details: SignInDetails, config: RTMConfig) => Promise<Session>
}

/**
 * The app as a whole: signed out (the form) or signed in (a Session). `?user=alice`
 * (with optional `&app=` and `&mode=`) signs in straight away, for links and tests; without
 * it, a session this tab had before a reload signs back in (`restoring` meanwhile).
 */
export class AppState {
  readonly form = new SignInForm()
  #session = $state.raw<Session | null>(null)
  #busy = $state(false)
  #restoring = $state(false)
  #ended = $state.raw<SessionEnd | null>(null)
  /** What the current session signed in with ("Use here" signs in with it again). */
  #details: SignInDetails | null = null
  #offLink: () => void = () => {}
  #config: RTMConfig = {}
  readonly #tab: TabStore | null
  readonly #start: (details: SignInDetails, config: RTMConfig) => Promise<Session>

  constructor(
    private readonly storage: KeyValueStore | null = globalThis.localStorage ?? null,
    search = globalThis.location?.search ?? '',
    /** For tests and embedding: RTM options such as the relay's `url`. */
    rtmConfig: RTMConfig = {},
    options: AppOptions = {},
  ) {
    this.#config = { ...rtmConfig }
    this.#tab = options.tabStorage === undefined ? (globalThis.sessionStorage ?? null) : options.tabStorage
    this.#start = options.start ?? ((details, config) => Session.start(details, config))
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
    const kept = readTabSession(this.#tab)
    if (user) {
      // A link names who to be: it wins over the session kept for this tab.
      this.form.userId = user
      void this.signIn()
    } else if (kept) {
      this.form.fill(kept)
      this.#restoring = true
      void this.signIn()
    }
  }

  get session(): Session | null { return this.#session }
  get busy(): boolean { return this.#busy }
  /** Signing back in after a reload, with the session this tab kept. */
  get restoring(): boolean { return this.#restoring }
  /** Why the coordinator ended the current session (its link FAILED), else null. */
  get ended(): SessionEnd | null { return this.#ended }
  /** The same user signed in elsewhere: this session is over and the page is read-only. */
  get kicked(): boolean { return this.#ended?.reasonCode === SAME_USER_ELSEWHERE }

  async signIn(): Promise<void> {
    const details = this.form.validate()
    if (!details || this.#busy) {
      this.#restoring = false
      return
    }
    this.#busy = true
    try {
      this.#adopt(await this.#start(details, this.#config), details)
    } catch (error) {
      this.form.error = explainSignInError(error)
    } finally {
      this.#busy = false
      this.#restoring = false
    }
  }

  /**
   * "Use here": signs in again with the details of the session that was ended because the
   * same user signed in elsewhere, which in turn ends that one. On failure the form shows why.
   */
  async useHere(): Promise<void> {
    const details = this.#details
    if (!details || this.#busy) return
    this.#busy = true
    try {
      const session = await this.#start(details, this.#config)
      this.#let(this.#session)
      this.#adopt(session, details)
    } catch (error) {
      const old = this.#session
      this.#session = null
      this.#let(old)
      this.form.fill(details)
      this.form.error = explainSignInError(error)
    } finally {
      this.#busy = false
    }
  }

  async signOut(): Promise<void> {
    const session = this.#session
    this.#session = null
    this.#forgetTab()
    this.#let(null)
    if (!session) return
    try {
      await session.logout()
    } catch (error) {
      // The session is gone either way; say why logout did not reach the coordinator.
      this.form.error = { message: 'You are signed out here, but the server did not hear it.', detail: explainError(error).detail ?? explainError(error).message }
    }
  }

  destroy(): void {
    this.#let(this.#session)
    this.#session = null
  }

  #adopt(session: Session, details: SignInDetails): void {
    this.#details = details
    this.#ended = null
    const onLink = (event: LinkStateEvent) => {
      if (event.currentState !== 'FAILED') return
      this.#ended = { reasonCode: event.reasonCode, reason: event.reason }
      // Over for good: a reload shows the form rather than taking the session back from elsewhere.
      this.#forgetTab()
    }
    session.rtm.addEventListener('linkState', onLink)
    this.#offLink = () => session.rtm.removeEventListener('linkState', onLink)
    this.#session = session
    this.#remember(details.userId)
    this.#keepTab(details)
  }

  /** Stops following `session` and lets go of it (null: stop following only); the coordinator is not told. */
  #let(session: Session | null): void {
    this.#offLink()
    this.#offLink = () => {}
    this.#ended = null
    session?.destroy()
  }

  #remembered(): string {
    return readKept(this.storage, LAST_USER_KEY) ?? ''
  }

  #remember(userId: string): void {
    writeKept(this.storage, LAST_USER_KEY, userId, 'remember the user id')
  }

  #keepTab(details: SignInDetails): void {
    writeKept(this.#tab, TAB_SESSION_KEY, JSON.stringify(details), 'keep the session for a reload')
  }

  #forgetTab(): void {
    forgetKept(this.#tab, TAB_SESSION_KEY, 'forget the kept session')
  }
}

/** A failed sign-in in words: `Session.start` wraps the SDK's error (its `cause`) in a one-line Error. */
function explainSignInError(error: unknown): UserError {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error
  return explainError(cause)
}
