import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TITLE_BLINK_MS, TitleBlink } from './title-blink'

describe('blinking tab title', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('alternates the notice with the page’s title, and puts the title back when stopped', () => {
    const page = { title: 'Signal Kit' }
    const blink = new TitleBlink(page)
    blink.start('📞 alice is calling…')
    expect(page.title).toBe('📞 alice is calling…')
    vi.advanceTimersByTime(TITLE_BLINK_MS)
    expect(page.title).toBe('Signal Kit')
    vi.advanceTimersByTime(TITLE_BLINK_MS)
    expect(page.title).toBe('📞 alice is calling…')
    blink.stop()
    expect(page.title).toBe('Signal Kit')
    vi.advanceTimersByTime(5 * TITLE_BLINK_MS)
    expect(page.title).toBe('Signal Kit')
    expect(blink.blinking).toBe(false)
  })

  it('a second notice replaces the first without losing the page’s title', () => {
    const page = { title: 'Signal Kit' }
    const blink = new TitleBlink(page)
    blink.start('📞 alice is calling…')
    blink.start('📞 bob is calling…')
    expect(page.title).toBe('📞 bob is calling…')
    blink.stop()
    expect(page.title).toBe('Signal Kit')
  })

  it('a title the page sets while blinking (an unread count) alternates with the notice and stays after', () => {
    const page = { title: 'Signal Kit' }
    const blink = new TitleBlink(page)
    blink.start('📞 alice is calling…')
    page.title = '(2) Signal Kit'
    vi.advanceTimersByTime(TITLE_BLINK_MS)
    expect(page.title).toBe('📞 alice is calling…')
    vi.advanceTimersByTime(TITLE_BLINK_MS)
    expect(page.title).toBe('(2) Signal Kit')
    page.title = '(3) Signal Kit'
    blink.stop()
    expect(page.title).toBe('(3) Signal Kit')
  })
})
