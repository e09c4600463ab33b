/** The colours a chart draws with: uPlot paints a canvas, so CSS cannot reach them. */
export interface ChartTheme { line: string; fill: string; axis: string; grid: string }

/**
 * The app.css tokens a chart takes its colours from, so it reads in either theme: the line
 * in the accent's text colour, the labels muted (both ≥ 4.5:1 on the drawer), the grid a border.
 */
export const CHART_TOKENS = { line: '--accent-text', axis: '--muted', grid: '--border' } as const

/** How faint the area under the line is. */
export const FILL_ALPHA = 0.15

/**
 * The chart's colours, each token resolved by `resolve` to a colour the canvas takes (the page
 * resolves `light-dark()` for the theme shown: see StatsChart's probe).
 */
export function chartTheme(resolve: (token: string) => string): ChartTheme {
  const line = resolve(CHART_TOKENS.line)
  return { line, fill: withAlpha(line, FILL_ALPHA), axis: resolve(CHART_TOKENS.axis), grid: resolve(CHART_TOKENS.grid) }
}

/** A computed `rgb(…)`/`rgba(…)` colour at `alpha`; any other colour comes back as it was. */
export function withAlpha(color: string, alpha: number): string {
  const channels = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(color.trim())
  if (!channels) return color
  const [, r, g, b] = channels
  return `rgba(${r}, ${g}, ${b}, ${alpha})`
}

/** Axis labels for seconds before now: "−60 s", and "now" at 0. */
export function secondsAgo(seconds: number): string {
  return seconds === 0 ? 'now' : `${Math.round(seconds)} s`.replace('-', '−')
}
