/** How long each of the two titles shows while blinking. */
export const TITLE_BLINK_MS = 1000

/** Whatever has the tab's title: `document`, or a plain object in tests. */
export interface Titled { title: string }

/**
 * Makes the tab's title alternate between a notice and the page's own title, so a ringing
 * call shows in a tab that is not in front; `stop` puts the page's title back.
 */
export class TitleBlink {
  #original: string | null = null
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly target: Titled | null = globalThis.document ?? null, private readonly intervalMs = TITLE_BLINK_MS) {}

  get blinking(): boolean { return this.#original !== null }

  start(notice: string): void {
    const target = this.target
    if (!target) return
    this.stop()
    const original = target.title
    this.#original = original
    let showingNotice = true
    target.title = notice
    this.#timer = setInterval(() => {
      showingNotice = !showingNotice
      target.title = showingNotice ? notice : original
    }, this.intervalMs)
  }

  stop(): void {
    clearInterval(this.#timer)
    if (this.#original === null || !this.target) return
    this.target.title = this.#original
    this.#original = null
  }
}
