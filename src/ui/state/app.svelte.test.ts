import { describe, expect, it, vi } from 'vitest'
import type { LinkStateEvent } from '../../sdk'
import { AppState, LAST_USER_KEY, readTabSession, TAB_SESSION_KEY, type AppOptions } from './app.svelte'
import type { Session, SignInDetails } from './session.svelte'

/** A Storage of our own: what the app keeps, readable by the test. */
function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial))
  return {
    data,
    getItem: (key: string) => data.get(key) ?? null,
    setItem: (key: string, value: string) => void data.set(key, value),
    removeItem: (key: string) => void data.delete(key),
  }
}

/** A session that needs no coordinator: it records how it ended and can be told its link failed. */
function fakeSession(details: SignInDetails) {
  const listeners = new Set<(event: LinkStateEvent) => void>()
  const session = {
    details,
    userId: details.userId,
    loggedOut: false,
    destroyed: false,
    rtm: {
      addEventListener: (_type: 'linkState', listener: (event: LinkStateEvent) => void) => void listeners.add(listener),
      removeEventListener: (_type: 'linkState', listener: (event: LinkStateEvent) => void) => void listeners.delete(listener),
    },
    logout: async () => { session.loggedOut = true },
    destroy: () => { session.destroyed = true },
    fail(reasonCode: string, reason = '') {
      for (const listener of listeners) listener({ currentState: 'FAILED', previousState: 'CONNECTED', operation: 'SERVER_REJECT', reason, reasonCode } as LinkStateEvent)
    },
  }
  return session
}
type FakeSession = ReturnType<typeof fakeSession>

/** An app whose sessions are fakes; `started` lists them in order. */
function appWith(search = '', tab = memoryStorage(), options: AppOptions = {}) {
  const started: FakeSession[] = []
  const start = vi.fn(async (details: SignInDetails) => {
    const session = fakeSession(details)
    started.push(session)
    return session as unknown as Session
  })
  const app = new AppState(memoryStorage(), search, {}, { tabStorage: tab, start, ...options })
  return { app, started, start, tab }
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0))
const ALICE: SignInDetails = { userId: 'alice', appId: 'demo', mode: 'relay' }

describe('a session kept for the tab', () => {
  it('signing in keeps the user, app, mode and token for this tab', async () => {
    const { app, tab } = appWith()
    Object.assign(app.form, { userId: 'alice', appId: 'acme', mode: 'mesh', token: 's3cret' })
    await app.signIn()
    expect(JSON.parse(tab.data.get(TAB_SESSION_KEY)!)).toEqual({ userId: 'alice', appId: 'acme', mode: 'mesh', token: 's3cret' })
  })

  it('a reload signs back in with the kept session, saying so meanwhile', async () => {
    const tab = memoryStorage({ [TAB_SESSION_KEY]: JSON.stringify({ ...ALICE, appId: 'acme', token: 't' }) })
    const { app, start } = appWith('', tab)
    expect(app.restoring).toBe(true)
    expect(app.form.userId).toBe('alice')
    await settled()
    expect(start).toHaveBeenCalledWith({ userId: 'alice', appId: 'acme', mode: 'relay', token: 't' }, {})
    expect(app.session).not.toBeNull()
    expect(app.restoring).toBe(false)
  })

  it('a ?user= link wins over the kept session', async () => {
    const tab = memoryStorage({ [TAB_SESSION_KEY]: JSON.stringify(ALICE) })
    const { app, start } = appWith('?user=zoe&app=other', tab)
    await settled()
    expect(start).toHaveBeenCalledTimes(1)
    expect(start.mock.calls[0]![0]).toMatchObject({ userId: 'zoe', appId: 'other' })
    expect(app.restoring).toBe(false)
    expect(JSON.parse(tab.data.get(TAB_SESSION_KEY)!)).toMatchObject({ userId: 'zoe', appId: 'other' })
  })

  it('logging out forgets it, so a reload shows the form', async () => {
    const { app, tab, started } = appWith()
    app.form.userId = 'alice'
    await app.signIn()
    await app.signOut()
    expect(started[0]!.loggedOut).toBe(true)
    expect(tab.data.has(TAB_SESSION_KEY)).toBe(false)
    expect(appWith('', tab).app.restoring).toBe(false)
  })

  it('a sign-in that fails on the way back shows the form, filled in, with the reason in words', async () => {
    const tab = memoryStorage({ [TAB_SESSION_KEY]: JSON.stringify(ALICE) })
    const { app } = appWith('', tab, { start: async () => { throw new Error('no route to the relay') } })
    await settled()
    expect(app.session).toBeNull()
    expect(app.restoring).toBe(false)
    expect(app.form.userId).toBe('alice')
    expect(app.form.error?.message).toBe('no route to the relay')
  })

  it('something that is not a kept session (another version, damaged) is ignored', () => {
    for (const raw of ['{', '"alice"', '{"userId":"alice"}', '{"userId":"alice","appId":"demo","mode":"carrier-pigeon"}']) {
      expect(readTabSession(memoryStorage({ [TAB_SESSION_KEY]: raw }))).toBeNull()
    }
    expect(readTabSession({ getItem: () => { throw new Error('SecurityError') } })).toBeNull()
  })

  it('the last user id is still remembered across visits', async () => {
    const storage = memoryStorage()
    const app = new AppState(storage, '', {}, { tabStorage: null, start: async (details) => fakeSession(details) as unknown as Session })
    app.form.userId = 'alice'
    await app.signIn()
    expect(storage.data.get(LAST_USER_KEY)).toBe('alice')
  })
})

describe('the same user signing in elsewhere', () => {
  it('ends this session: the app says it was kicked and forgets the kept session', async () => {
    const { app, tab, started } = appWith()
    app.form.userId = 'alice'
    await app.signIn()
    started[0]!.fail('SAME_UID_LOGIN', 'the same user id logged in on another connection')
    expect(app.kicked).toBe(true)
    expect(app.ended).toEqual({ reasonCode: 'SAME_UID_LOGIN', reason: 'the same user id logged in on another connection' })
    expect(tab.data.has(TAB_SESSION_KEY)).toBe(false)
  })

  it('"Use here" signs in again with the same details, lets the old session go and keeps the new one', async () => {
    const { app, tab, started } = appWith()
    Object.assign(app.form, { userId: 'alice', appId: 'acme', token: 't' })
    await app.signIn()
    started[0]!.fail('SAME_UID_LOGIN')
    app.form.userId = 'someone typing elsewhere'
    await app.useHere()
    expect(started).toHaveLength(2)
    expect(started[1]!.details).toEqual(started[0]!.details)
    expect(started[0]!.destroyed).toBe(true)
    expect(app.session).toBe(started[1])
    expect([app.kicked, app.ended]).toEqual([false, null])
    expect(JSON.parse(tab.data.get(TAB_SESSION_KEY)!)).toMatchObject({ userId: 'alice', appId: 'acme' })
    // The old session's link no longer speaks for the app.
    started[0]!.fail('SAME_UID_LOGIN')
    expect(app.kicked).toBe(false)
  })

  it('another reason (an expired token) ends the session without calling it a kick', async () => {
    const { app, started } = appWith()
    app.form.userId = 'alice'
    await app.signIn()
    started[0]!.fail('TOKEN_EXPIRED', 'the login token expired')
    expect(app.kicked).toBe(false)
    expect(app.ended?.reasonCode).toBe('TOKEN_EXPIRED')
  })
})
