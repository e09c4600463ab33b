import { readKept, writeKept } from './kept'

/** Light, dark, or whatever the operating system says. */
export type ThemeChoice = 'system' | 'light' | 'dark'

export const THEME_KEY = 'signal-kit:theme'
const CHOICES: readonly ThemeChoice[] = ['system', 'light', 'dark']

/**
 * The colour theme: follows the OS (`prefers-color-scheme`) until the user picks one, which is
 * kept across visits. app.css does the rest: every colour is `light-dark()`, and
 * `data-theme` on <html> pins the `color-scheme` those read.
 */
export class Theme {
  #choice = $state<ThemeChoice>('system')

  constructor(
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null = globalThis.localStorage ?? null,
    private readonly root: HTMLElement | null = globalThis.document?.documentElement ?? null,
  ) {
    const stored = readKept(storage, THEME_KEY)
    this.#apply(CHOICES.includes(stored as ThemeChoice) ? (stored as ThemeChoice) : 'system')
  }

  get choice(): ThemeChoice { return this.#choice }
  get choices(): readonly ThemeChoice[] { return CHOICES }

  /** Whether the page shows dark now (the choice, or the OS setting under 'system'). */
  get dark(): boolean {
    if (this.#choice !== 'system') return this.#choice === 'dark'
    return globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false
  }

  set(choice: ThemeChoice): void {
    this.#apply(choice)
    writeKept(this.storage, THEME_KEY, choice, 'remember the theme')
  }

  #apply(choice: ThemeChoice): void {
    this.#choice = choice
    if (!this.root) return
    if (choice === 'system') delete this.root.dataset.theme
    else this.root.dataset.theme = choice
  }
}

/** The page's one theme, applied as soon as the code loads (before the first paint of the app). */
export const theme = new Theme()
