/**
 * What happened to the frames of one endpoint's fuzz run: how many were sent, which had
 * to be answered, how they were answered (code counts), and which were not.
 */
export class Ledger {
  sessions = 0
  sent = 0
  /** Frames that must get an answer (a request id, an ack, a malformed /ws/calls frame). */
  mustAnswer = 0
  answered = 0
  accepted = 0
  rateLimited = 0
  /** Frames whose connection the relay closed before answering (a documented close). */
  closedFirst = 0
  readonly codes = new Map<string, number>()
  readonly closes = new Map<string, number>()
  /** Answers without a code from the dialect's table (at most 20 kept). */
  readonly badAnswers: string[] = []
  /** Frames never answered on a connection that stayed open (at most 20 kept). */
  readonly unanswered: string[] = []
  badAnswerCount = 0
  unansweredCount = 0

  constructor(readonly endpoint: string, readonly seed: number) {}

  code(code: string | number, rateLimited = false): void {
    this.answered++
    if (rateLimited) this.rateLimited++
    this.tally(code)
  }

  /** Counts a code seen without tying it to one frame (/ws/calls errors carry no id). */
  tally(code: string | number): void {
    this.codes.set(String(code), (this.codes.get(String(code)) ?? 0) + 1)
  }

  ok(): void {
    this.answered++
    this.accepted++
  }

  bad(description: string): void {
    this.badAnswerCount++
    if (this.badAnswers.length < 20) this.badAnswers.push(description)
  }

  missing(description: string, count = 1): void {
    this.unansweredCount += count
    if (this.unanswered.length < 20) this.unanswered.push(description)
  }

  closed(reason: string): void {
    this.closes.set(reason, (this.closes.get(reason) ?? 0) + 1)
  }

  /** Answered with something other than "over the rate": the share the relay really processed. */
  get processedShare(): number {
    return this.mustAnswer === 0 ? 1 : (this.answered - this.rateLimited) / this.mustAnswer
  }

  summary(): string {
    const top = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([key, count]) => `${key}×${count}`).join(' ')
    return [
      `${this.endpoint} (seed ${this.seed}): ${this.sessions} connections, ${this.sent} frames sent, ${this.mustAnswer} to answer:`,
      `  ${this.answered} answered (${this.accepted} ok, ${this.rateLimited} over a rate limit), ${this.closedFirst} closed before their answer, ${this.unansweredCount} unanswered, ${this.badAnswerCount} answers without a known code`,
      `  codes: ${top(this.codes) || '-'}`,
      `  closes: ${top(this.closes) || '-'}`,
    ].join('\n')
  }
}

/** Frames of one connection waiting for their answers, matched by a key (request id, ack id). */
export class Pending<T> {
  private readonly waiting = new Map<string, T[]>()
  private count = 0
  private wakers: (() => void)[] = []

  add(key: string, item: T): void {
    const list = this.waiting.get(key)
    if (list) list.push(item)
    else this.waiting.set(key, [item])
    this.count++
  }

  /** The oldest frame waiting under `key`, now answered; undefined if none waits. */
  take(key: string): T | undefined {
    const list = this.waiting.get(key)
    const item = list?.shift()
    if (list && list.length === 0) this.waiting.delete(key)
    if (item === undefined) return undefined
    this.count--
    this.wake()
    return item
  }

  /** Frames that may wait as long as they like (acquireLock with retry) are not counted by `blocking`. */
  blocking(isExempt: (item: T) => boolean): number {
    let count = 0
    for (const list of this.waiting.values()) for (const item of list) if (!isExempt(item)) count++
    return count
  }

  get size(): number {
    return this.count
  }

  drain(): T[] {
    const all = [...this.waiting.values()].flat()
    this.waiting.clear()
    this.count = 0
    return all
  }

  /** Resolves at the next answer (or `wake`), so a waiter can re-check its condition. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.wakers.push(resolve))
  }

  wake(): void {
    for (const wake of this.wakers.splice(0)) wake()
  }
}
