import { describe, expect, it } from 'vitest'
import { APP_NAME, pageTitle } from './page-title'

describe('the page title', () => {
  it('is the app’s name when nothing is new', () => {
    expect(pageTitle(0)).toBe(APP_NAME)
    expect(pageTitle(Number.NaN)).toBe(APP_NAME)
  })

  it('puts the number of new things in front', () => {
    expect(pageTitle(3)).toBe('(3) Signal Kit')
  })

  it('caps a large number at 99+', () => {
    expect(pageTitle(99)).toBe('(99) Signal Kit')
    expect(pageTitle(250)).toBe('(99+) Signal Kit')
  })
})
