import type { MetadataDetail } from '../../sdk'

/**
 * A write refused because the item changed after the user read it (-12014
 * STORAGE_OUTDATED_REVISION): both sides, so that the user can choose.
 */
export interface Conflict {
  key: string
  /** What I tried to store; null when I tried to remove the item. */
  mine: string | null
  /** The revision my write was based on: 0 when I was adding the item (it must not have existed). */
  basedOn: number
  /** What is stored now; null when the item is gone. */
  theirs: MetadataDetail | null
}

/** A write to make: `revision` is what the stored item must still be at (0: it must still be absent). */
export type MetadataWrite =
  | { kind: 'set'; key: string; value: string; revision: number }
  | { kind: 'remove'; key: string; revision: number }

/** Nothing left to choose: what is stored is already what I wanted. */
export function isSettled(conflict: Conflict): boolean {
  return conflict.mine === null ? conflict.theirs === null : conflict.theirs?.value === conflict.mine
}

/**
 * "Keep mine": my write again, against the revision stored now, so that a change made
 * meanwhile is caught again instead of overwritten unseen. Null when there is nothing to write.
 */
export function keepMine(conflict: Conflict): MetadataWrite | null {
  if (isSettled(conflict)) return null
  const { key, mine, theirs } = conflict
  if (mine === null) return { kind: 'remove', key, revision: theirs!.revision }
  return { kind: 'set', key, value: mine, revision: theirs?.revision ?? 0 }
}

