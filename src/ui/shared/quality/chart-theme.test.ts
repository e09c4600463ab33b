import { describe, expect, it } from 'vitest'
import { chartTheme, secondsAgo, withAlpha } from './chart-theme'

describe('chart theme', () => {
  it('draws with the page’s tokens, the fill a faint copy of the line', () => {
    const resolved: Record<string, string> = { '--accent-text': 'rgb(165, 180, 252)', '--muted': 'rgb(163, 169, 182)', '--border': 'rgb(44, 49, 59)' }
    expect(chartTheme((token) => resolved[token]!)).toEqual({
      line: 'rgb(165, 180, 252)', fill: 'rgba(165, 180, 252, 0.15)', axis: 'rgb(163, 169, 182)', grid: 'rgb(44, 49, 59)',
    })
  })

  it('sets the alpha of rgb() and rgba() colours, and leaves others as they are', () => {
    expect(withAlpha('rgb(1 2 3)', 0.5)).toBe('rgba(1, 2, 3, 0.5)')
    expect(withAlpha('rgba(1, 2, 3, 0.9)', 0.2)).toBe('rgba(1, 2, 3, 0.2)')
    expect(withAlpha('#123456', 0.2)).toBe('#123456')
  })

  it('labels the time axis in seconds before now', () => {
    expect([secondsAgo(-60), secondsAgo(0)]).toEqual(['−60 s', 'now'])
  })
})
