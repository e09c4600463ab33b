import type { RTMConfig } from '../../sdk'

/** Where the coordinator runs (DESIGN.md "one coordinator, three ways to reach it"). */
export type Mode = 'relay' | 'tabs' | 'mesh'

export interface ModeInfo {
  id: Mode
  label: string
  hint: string
  /** Modes not built yet are listed but cannot be picked. */
  available: boolean
}

/** The sign-in picker's choices; a new mode is one entry here and one case in `transportFor`. */
export const MODES: readonly ModeInfo[] = [
  { id: 'relay', label: 'relay', hint: 'the Node relay coordinates (socket.io)', available: true },
  { id: 'tabs', label: 'tabs', hint: 'no server: one tab of this browser coordinates (Web Locks, BroadcastChannel, IndexedDB)', available: true },
  { id: 'mesh', label: 'mesh', hint: 'browsers coordinate over PeerJS data channels (the relay only brokers them)', available: true },
]

export function isMode(value: string | null | undefined): value is Mode {
  return MODES.some((mode) => mode.id === value)
}

/** The RTM client's transport option for a mode. */
export function transportFor(mode: Mode): RTMConfig['transport'] {
  switch (mode) {
    case 'relay':
    case 'tabs':
    case 'mesh':
      return mode
    default: {
      const unknown: never = mode
      throw new Error(`unknown mode ${String(unknown)}`)
    }
  }
}
