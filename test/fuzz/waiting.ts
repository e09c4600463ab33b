/** Polls `condition` on the event loop until it holds; fails after `timeoutMs` with `what`. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Splits `items` into consecutive batches of at most `size`. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let at = 0; at < items.length; at += size) out.push(items.slice(at, at + size))
  return out
}

/** Runs `worker(0..count-1)` with at most `lanes` at once; lane i always runs tasks i, i+lanes, … */
export async function inLanes(count: number, lanes: number, worker: (index: number, lane: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, async (_, lane) => {
    for (let index = lane; index < count; index += lanes) await worker(index, lane)
  }))
}
