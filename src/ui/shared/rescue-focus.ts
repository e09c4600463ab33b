import type { Attachment } from 'svelte/attachments'

/** An item (a list row) whose first control takes the focus when the focused one inside it goes away. */
const GROUP = '[data-focus-group]'
const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])'

/**
 * `<section {@attach rescueFocus(() => heading)}>`: when the focused control inside the
 * element disappears (Release replaced by Take, a row removed by us or by someone else's
 * event), focus goes to the first control left in its item (`data-focus-group`), else to
 * `fallback()`, instead of falling to <body>, where a keyboard user would start over.
 */
export function rescueFocus(fallback: () => HTMLElement | null | undefined): Attachment<HTMLElement> {
  return (node) => {
    let focused: Element | null = null
    let group: Element | null = null
    const onFocusIn = (event: FocusEvent) => {
      focused = event.target as Element
      group = focused.closest(GROUP)
    }
    // Leaving on purpose (a click elsewhere, Tab out) forgets it; a removal leaves it disconnected.
    const onFocusOut = (event: FocusEvent) => {
      const target = event.target as Element
      queueMicrotask(() => { if (focused === target && target.isConnected) focused = null })
    }
    const observer = new MutationObserver(() => {
      if (!focused || focused.isConnected) return
      focused = null
      const active = document.activeElement
      if (active !== null && active !== document.body) return
      const next = group?.isConnected ? group.querySelector<HTMLElement>(FOCUSABLE) : null
      ;(next ?? fallback())?.focus()
    })
    node.addEventListener('focusin', onFocusIn)
    node.addEventListener('focusout', onFocusOut)
    observer.observe(node, { childList: true, subtree: true })
    return () => {
      observer.disconnect()
      node.removeEventListener('focusin', onFocusIn)
      node.removeEventListener('focusout', onFocusOut)
    }
  }
}
