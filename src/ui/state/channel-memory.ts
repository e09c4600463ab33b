import { readKept, writeKept } from './kept'

/** The part of Web Storage the memory uses (localStorage in the page, a map in tests). */
export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem'>

/** Where a user's channels are kept: one entry per app and user. */
export function channelsKey(appId: string, userId: string): string {
  return `signal-kit:channels:${encodeURIComponent(appId)}:${encodeURIComponent(userId)}`
}

/**
 * The channels a user is in, remembered across sign-out and sign-in (per app and user, in
 * localStorage): joining one adds it, leaving forgets it, and the next sign-in joins them
 * again. Storage that is disabled (private mode, a sandboxed frame) just remembers nothing.
 */
export class ChannelMemory {
  readonly #key: string

  constructor(private readonly storage: KeyValueStore | null, appId: string, userId: string) {
    this.#key = channelsKey(appId, userId)
  }

  /** The channels to join at sign-in, in the order they were joined; `first` the first time (nothing remembered yet). */
  recall(first: readonly string[]): string[] {
    const saved = this.#read()
    return saved ?? [...first]
  }

  remember(channelName: string): void {
    const names = this.#read() ?? []
    if (!names.includes(channelName)) this.#write([...names, channelName])
  }

  forget(channelName: string): void {
    const names = this.#read() ?? []
    this.#write(names.filter((name) => name !== channelName))
  }

  /** The remembered names, or null when there is nothing (or nothing readable) saved. */
  #read(): string[] | null {
    const raw = readKept(this.storage, this.#key)
    if (raw === null) return null
    try {
      const value: unknown = JSON.parse(raw)
      return Array.isArray(value) ? value.filter((name): name is string => typeof name === 'string' && name.length > 0) : null
    } catch {
      return null // written by something else: start again from the default
    }
  }

  #write(names: string[]): void {
    writeKept(this.storage, this.#key, JSON.stringify(names), 'remember the channels')
  }
}
