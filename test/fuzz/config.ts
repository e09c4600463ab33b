/**
 * Sizes of a fuzz run. CI runs the default; `npm run fuzz -- --frames 100000` sets
 * FUZZ_FRAMES for the long run. FUZZ_SEED replays a run (every failure prints its seed).
 */
export const FUZZ_FRAMES = Math.max(100, Number(process.env.FUZZ_FRAMES) || 2500)
/**
 * Per coordinator page (tabs, mesh) in e2e/fuzz-coordinator.spec.ts: a browser page is slower to
 * feed than the relay, and CI's browser tests are near their time budget (`npm run fuzz` runs the long one).
 */
export const FUZZ_PAGE_FRAMES = Math.max(100, Number(process.env.FUZZ_FRAMES) || 600)
export const FUZZ_SEED = Number(process.env.FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31)
/** Fuzz connections at once per endpoint (each sends its batches and waits for their answers). */
export const LANES = 4
/**
 * Memory "returns to baseline": after the fuzz connections closed and a full collection,
 * heapUsed is at most this much above what it was after the warm-up (same measurement),
 * within MEMORY_SETTLE_MS (PeerJS keeps undelivered frames 5 s, presence keeps lost
 * sessions until their timeout). RSS only has to stay within RSS_TOLERANCE: the allocator
 * keeps freed pages, but a leak of the audit's kind (1.9 GB) shows there.
 */
export const HEAP_TOLERANCE = 32 * 1024 * 1024
export const RSS_TOLERANCE = 256 * 1024 * 1024
export const MEMORY_SETTLE_MS = 20_000
/** Test time for one endpoint's run: a floor, plus per frame (2 cores shared with other work). */
export function runTimeout(frames = FUZZ_FRAMES): number {
  return 60_000 + frames * 20
}
