import { describe, expect, it } from 'vitest'
import { rowAfterKey, rowsPerPage } from './log-keys'

describe('event log keys', () => {
  it('Up and Down move one row and stop at the ends', () => {
    expect(rowAfterKey('ArrowDown', 3, 10, 5)).toBe(4)
    expect(rowAfterKey('ArrowUp', 3, 10, 5)).toBe(2)
    expect(rowAfterKey('ArrowDown', 9, 10, 5)).toBe(9)
    expect(rowAfterKey('ArrowUp', 0, 10, 5)).toBe(0)
  })

  it('Home and End go to the newest and the oldest row', () => {
    expect(rowAfterKey('Home', 6, 10, 5)).toBe(0)
    expect(rowAfterKey('End', 2, 10, 5)).toBe(9)
  })

  it('Page Up and Page Down move a screenful, clamped to the list', () => {
    expect(rowAfterKey('PageDown', 2, 10, 5)).toBe(7)
    expect(rowAfterKey('PageDown', 7, 10, 5)).toBe(9)
    expect(rowAfterKey('PageUp', 7, 10, 5)).toBe(2)
    expect(rowAfterKey('PageUp', 2, 10, 5)).toBe(0)
    expect(rowAfterKey('PageDown', 0, 10, 0)).toBe(1)
  })

  it('with no active row yet, Down starts at the first one; a row past the end counts as the last', () => {
    expect(rowAfterKey('ArrowDown', -1, 10, 5)).toBe(0)
    expect(rowAfterKey('ArrowUp', 12, 10, 5)).toBe(8)
  })

  it('other keys, and an empty list, move nothing', () => {
    expect(rowAfterKey('Enter', 3, 10, 5)).toBeNull()
    expect(rowAfterKey('a', 3, 10, 5)).toBeNull()
    expect(rowAfterKey('ArrowDown', 0, 0, 5)).toBeNull()
  })

  it('a page is the rows in view less one, and at least one', () => {
    expect(rowsPerPage(400, 20)).toBe(19)
    expect(rowsPerPage(10, 20)).toBe(1)
    expect(rowsPerPage(400, 0)).toBe(1)
  })
})
