import { describe, expect, it } from 'vitest'
import { focusFirst, focusLost } from './focus'

/** Just enough of an element and a document for the focus rules. */
function page() {
  const doc = { activeElement: null as unknown, body: { isConnected: true } }
  const element = (over: { isConnected?: boolean; disabled?: boolean; takes?: boolean } = {}) => {
    const el = {
      isConnected: over.isConnected ?? true, ownerDocument: doc, ...(over.disabled === undefined ? {} : { disabled: over.disabled }),
      focus() { if (over.takes !== false) doc.activeElement = el },
    }
    return el
  }
  return { doc, element }
}

describe('focus after an action', () => {
  it('is lost on <body>, nowhere, or on a control since removed or disabled', () => {
    const { doc, element } = page()
    const lost = () => focusLost(doc as unknown as Document)
    expect(lost()).toBe(true)
    doc.activeElement = doc.body
    expect(lost()).toBe(true)
    doc.activeElement = element({ isConnected: false })
    expect(lost()).toBe(true)
    doc.activeElement = element({ disabled: true })
    expect(lost()).toBe(true)
    doc.activeElement = element({ disabled: false })
    expect(lost()).toBe(false)
    doc.activeElement = element()
    expect(lost()).toBe(false)
  })

  it('goes to the first candidate that takes it: not a removed one, nor a hidden one', () => {
    const { doc, element } = page()
    const [gone, hidden, heading] = [element({ isConnected: false }), element({ takes: false }), element()]
    expect(focusFirst(null, gone as unknown as HTMLElement, hidden as unknown as HTMLElement, heading as unknown as HTMLElement)).toBe(true)
    expect(doc.activeElement).toBe(heading)
    expect(focusFirst(undefined, gone as unknown as HTMLElement)).toBe(false)
  })
})
