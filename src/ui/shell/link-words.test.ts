import { describe, expect, it } from 'vitest'
import { LINK_WORDS, linkNotice, SAME_USER_ELSEWHERE } from './link-words'

describe('the link in words', () => {
  it('names every state in plain words', () => {
    expect(LINK_WORDS.CONNECTED).toBe('Connected')
    expect(LINK_WORDS.DISCONNECTED).toBe('Reconnecting…')
    expect(LINK_WORDS.SUSPENDED).toBe('Offline')
  })

  it('says nothing while connected or connecting', () => {
    expect(linkNotice('CONNECTED', null)).toBeNull()
    expect(linkNotice('CONNECTING', null)).toBeNull()
  })

  it('a lost link says it is reconnecting', () => {
    expect(linkNotice('DISCONNECTED', null)).toEqual({ kind: 'reconnecting', message: 'Connection lost. Reconnecting…' })
    expect(linkNotice('SUSPENDED', null)?.kind).toBe('reconnecting')
  })

  it('the same user elsewhere reads as another tab or window, with the code kept as detail', () => {
    const notice = linkNotice('FAILED', { reasonCode: SAME_USER_ELSEWHERE, reason: 'the same user id logged in on another connection' })
    expect(notice).toEqual({
      kind: 'kicked',
      error: { message: 'You opened Signal Kit in another tab or window.', action: 'This one is now read-only.', detail: 'SAME_UID_LOGIN: the same user id logged in on another connection' },
    })
  })

  it('other endings say so and offer to sign in again', () => {
    expect(linkNotice('FAILED', { reasonCode: 'TOKEN_EXPIRED', reason: 'the login token expired' })).toMatchObject({ kind: 'ended', error: { message: 'Your sign-in token has expired.' } })
    expect(linkNotice('FAILED', { reasonCode: 'SOMETHING_NEW', reason: '' })).toMatchObject({ kind: 'ended', error: { message: 'You were disconnected.', action: 'Sign in again to continue.', detail: 'SOMETHING_NEW' } })
    expect(linkNotice('FAILED', null)).toMatchObject({ kind: 'ended' })
  })
})
