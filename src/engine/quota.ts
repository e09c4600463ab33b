/**
 * What all apps of one coordinator hold together. Anyone may name a new app, so per-app
 * limits alone do not bound the store; one object is shared by every app engine.
 */
export const MAX_TOTAL_METADATA_BYTES = 1024 * 1024 * 1024
export const MAX_TOTAL_LOCKS = 100_000
/** Message history of every app together (HISTORY_MAX_BYTES); each app also has its own cap (history.ts). */
export const MAX_TOTAL_HISTORY_BYTES = 256 * 1024 * 1024

export interface SharedQuota {
  metadataBytes: { used: number; limit: number }
  locks: { used: number; limit: number }
  historyBytes: { used: number; limit: number }
}

export function newSharedQuota(historyBytes = MAX_TOTAL_HISTORY_BYTES): SharedQuota {
  return {
    metadataBytes: { used: 0, limit: MAX_TOTAL_METADATA_BYTES }, locks: { used: 0, limit: MAX_TOTAL_LOCKS },
    historyBytes: { used: 0, limit: historyBytes },
  }
}
