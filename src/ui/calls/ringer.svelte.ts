import { Ringtone } from './ringtone'
import { TitleBlink } from './title-blink'

/** Where "ringtone muted" is remembered between visits. */
export const RINGTONE_MUTED_KEY = 'signal-kit:ringtone-muted'

/** What makes the sound (a `Ringtone`, or a fake in tests). */
export interface Tone { start(): void; stop(): void; destroy(): void }
/** What blinks the title (a `TitleBlink`, or a fake in tests). */
export interface Blinker { start(notice: string): void; stop(): void }

export interface RingerOptions {
  tone?: Tone
  title?: Blinker
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null
}

/**
 * Everything an incoming call does besides showing itself: the ringtone (unless muted; the
 * choice is remembered) and the blinking tab title. `ring` while a call rings, `stop` when
 * it is answered, declined or gone.
 */
export class Ringer {
  #muted = $state(false)
  #caller = $state<string | null>(null)
  readonly #tone: Tone
  readonly #title: Blinker
  readonly #storage: Pick<Storage, 'getItem' | 'setItem'> | null

  constructor(options: RingerOptions = {}) {
    this.#tone = options.tone ?? new Ringtone()
    this.#title = options.title ?? new TitleBlink()
    this.#storage = options.storage === undefined ? (globalThis.localStorage ?? null) : options.storage
    this.#muted = this.#read() === 'true'
  }

  get muted(): boolean { return this.#muted }
  /** Who is calling while it rings, else null. */
  get caller(): string | null { return this.#caller }

  ring(caller: string): void {
    if (this.#caller === caller) return
    this.#caller = caller
    this.#title.start(`📞 ${caller} is calling…`)
    if (!this.#muted) this.#tone.start()
  }

  stop(): void {
    if (this.#caller === null) return
    this.#caller = null
    this.#title.stop()
    this.#tone.stop()
  }

  setMuted(muted: boolean): void {
    this.#muted = muted
    this.#write(String(muted))
    if (muted) this.#tone.stop()
    else if (this.#caller !== null) this.#tone.start()
  }

  destroy(): void {
    this.stop()
    this.#tone.destroy()
  }

  #read(): string | null {
    try {
      return this.#storage?.getItem(RINGTONE_MUTED_KEY) ?? null
    } catch {
      return null // storage disabled (private mode, sandboxed frame): ring
    }
  }

  #write(value: string): void {
    try {
      this.#storage?.setItem(RINGTONE_MUTED_KEY, value)
    } catch (error) {
      console.warn('could not remember the ringtone setting', error)
    }
  }
}
