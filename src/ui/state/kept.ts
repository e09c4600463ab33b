/**
 * What the page keeps in Web Storage (the user id, the theme, the tab's session, joined
 * channels). Storage may refuse — disabled in private mode or a sandboxed frame, or full —
 * and the page then works without it: a read gives null, a write or removal warns.
 */
export function readKept(storage: Pick<Storage, 'getItem'> | null, key: string): string | null {
  try {
    return storage?.getItem(key) ?? null
  } catch {
    return null
  }
}

/** Keeps `value` under `key`; `what` names it in the warning ("remember the theme"). */
export function writeKept(storage: Pick<Storage, 'setItem'> | null, key: string, value: string, what: string): void {
  try {
    storage?.setItem(key, value)
  } catch (error) {
    console.warn(`could not ${what}`, error)
  }
}

export function forgetKept(storage: Pick<Storage, 'removeItem'> | null, key: string, what: string): void {
  try {
    storage?.removeItem(key)
  } catch (error) {
    console.warn(`could not ${what}`, error)
  }
}
