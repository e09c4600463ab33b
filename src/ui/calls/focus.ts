/**
 * Where keyboard focus goes after an action. A control that is disabled while it works, or
 * removed when it is done (Call, Hang up, Join, Leave), drops the focus to <body>, where a
 * keyboard user starts over from the top of the page; these put it somewhere sensible.
 */

/** Whether the focus is lost: nowhere, on <body>, or on a control since removed or disabled. */
export function focusLost(doc: Pick<Document, 'activeElement' | 'body'> = document): boolean {
  const active = doc.activeElement
  if (!active || active === doc.body || !active.isConnected) return true
  return 'disabled' in active && active.disabled === true
}

/** Focuses the first of `candidates` that takes it (in the page, enabled, shown); false when none did. */
export function focusFirst(...candidates: (HTMLElement | null | undefined)[]): boolean {
  for (const candidate of candidates) {
    if (!candidate?.isConnected) continue
    candidate.focus()
    if (candidate.ownerDocument.activeElement === candidate) return true
  }
  return false
}
