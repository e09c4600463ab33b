/** The colours a chart draws with: uPlot paints a canvas, so CSS cannot reach them. */
export interface ChartTheme { line: string; fill: string; axis: string; grid: string }

/** Light: ≥ 4.5:1 on white for the line and the labels. Dark: the same on #111827. */
export const CHART_THEMES: Record<'light' | 'dark', ChartTheme> = {
  light: { line: '#4338ca', fill: 'rgba(67, 56, 202, 0.12)', axis: '#374151', grid: '#e5e7eb' },
  dark: { line: '#a5b4fc', fill: 'rgba(165, 180, 252, 0.16)', axis: '#d1d5db', grid: '#374151' },
}

/**
 * Whether an element is shown dark: its `color-scheme` (inherited from the page) says dark
 * only, or allows both and the system prefers dark. The page decides, not the system alone.
 */
export function isDarkScheme(colorScheme: string, prefersDark: boolean): boolean {
  const schemes = colorScheme.split(/\s+/)
  if (!schemes.includes('dark')) return false
  return !schemes.includes('light') || prefersDark
}

/** Axis labels for seconds before now: "−60 s", and "now" at 0. */
export function secondsAgo(seconds: number): string {
  return seconds === 0 ? 'now' : `${Math.round(seconds)} s`.replace('-', '−')
}
