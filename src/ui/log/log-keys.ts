/**
 * Where a key moves the active row of a list of `count` rows (the event log: one tab stop,
 * arrows inside), from row `index` (-1: none yet), with `page` rows to a screenful.
 * Null for keys that do not move it.
 */
export function rowAfterKey(key: string, index: number, count: number, page: number): number | null {
  if (count === 0) return null
  const last = count - 1
  const from = Math.min(Math.max(index, 0), last)
  switch (key) {
    case 'ArrowDown': return index < 0 ? 0 : Math.min(from + 1, last)
    case 'ArrowUp': return Math.max(from - 1, 0)
    case 'Home': return 0
    case 'End': return last
    case 'PageDown': return Math.min(from + Math.max(page, 1), last)
    case 'PageUp': return Math.max(from - Math.max(page, 1), 0)
    default: return null
  }
}

/** Rows that fit in a viewport of `viewportPx` with rows of `rowPx`, less one so that a page step keeps one row in view. */
export function rowsPerPage(viewportPx: number, rowPx: number): number {
  if (!(rowPx > 0) || !(viewportPx > 0)) return 1
  return Math.max(1, Math.floor(viewportPx / rowPx) - 1)
}
