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
  /** The title this blink last showed: anything else was set by the page meanwhile. */
  #shown = ''
  #timer: ReturnType<typeof setInterval> | undefined

  constructor(private readonly target: Titled | null = globalThis.document ?? null, private readonly intervalMs = TITLE_BLINK_MS) {}

  get blinking(): boolean { return this.#original !== null }

  start(notice: string): void {
    const target = this.target
    if (!target) return
    this.stop()
    this.#original = target.title
    let showingNotice = true
    this.#show(notice)
    this.#timer = setInterval(() => {
      // The page retitled itself (an unread count in the workspace): show the notice next, then that title.
      if (this.#adoptPageTitle()) showingNotice = false
      showingNotice = !showingNotice
      this.#show(showingNotice ? notice : this.#original!)
    }, this.intervalMs)
  }

  stop(): void {
    clearInterval(this.#timer)
    if (this.#original === null || !this.target) return
    this.#adoptPageTitle()
    this.target.title = this.#original
    this.#original = null
  }

  #show(title: string): void {
    this.target!.title = title
    this.#shown = this.target!.title
  }

  /** Takes a title the page set while blinking as its own title (to alternate with, and put back). */
  #adoptPageTitle(): boolean {
    if (!this.target || this.target.title === this.#shown) return false
    this.#original = this.target.title
    return true
  }
}
