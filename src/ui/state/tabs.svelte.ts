/**
 * Which panel is shown, mirrored in the URL hash (`#calls`) so that a panel can be linked
 * to and survives a reload.
 */
export class Tabs {
  #current = $state('')
  readonly #onHash = () => this.#fromHash()

  constructor(readonly ids: readonly string[]) {
    this.#current = ids[0] ?? ''
    this.#fromHash()
    globalThis.addEventListener?.('hashchange', this.#onHash)
  }

  get current(): string { return this.#current }

  select(id: string): void {
    if (!this.ids.includes(id)) return
    this.#current = id
    if (globalThis.location && globalThis.location.hash !== `#${id}`) history.replaceState(null, '', `#${id}`)
  }

  destroy(): void {
    globalThis.removeEventListener?.('hashchange', this.#onHash)
  }

  #fromHash(): void {
    const id = globalThis.location?.hash.slice(1)
    if (id && this.ids.includes(id)) this.#current = id
  }
}
