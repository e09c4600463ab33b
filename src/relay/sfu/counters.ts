/** Running totals a worker reports in its figures (sfu-ipc.ts WorkerFigures). */
export interface SfuCounters {
  forwardedPackets: number
  keyframeRequests: number
}

/** What a room and its connections need from the worker around them. */
export interface SfuContext {
  counters: SfuCounters
  now(): number
  log(message: string): void
}
