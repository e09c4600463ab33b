import type { Component } from 'svelte'
import type { RTM } from '../sdk'
import ChatPanel from './chat/ChatPanel.svelte'
import type { Session } from './state/session.svelte'

/** What every panel is given; a panel may take just `rtm`. */
export interface PanelProps { rtm: RTM; session: Session }

type PanelComponent = Component<PanelProps>

export interface PanelInfo {
  /** Also the URL hash that opens it (`#calls`). */
  id: string
  label: string
  /**
   * The panel's code. Only Chat (the first tab) ships in the page's first download; the
   * others are separate chunks fetched when first needed, to keep the first load small.
   */
  load: () => PanelComponent | Promise<PanelComponent>
  /**
   * Mount right after sign-in, shown or not, instead of on first open: the panel must work
   * before anyone looks at it (an incoming call rings with the Calls tab never opened).
   */
  mountAtStart?: boolean
  /** A number to show on the tab (unread messages…); 0 hides it. */
  badge?: (session: Session) => number
}

const lazy = (load: () => Promise<{ default: PanelComponent }>) => async () => (await load()).default

/**
 * The workspace's panels, in tab order. A feature plugs in with one line here. Once
 * mounted, panels stay mounted while hidden, so a call keeps ringing and a feed keeps
 * filling when another tab is open.
 */
export const PANELS: readonly PanelInfo[] = [
  { id: 'chat', label: 'Chat', load: () => ChatPanel, mountAtStart: true, badge: (session) => session.unreadTotal },
  { id: 'calls', label: 'Calls', load: lazy(() => import('./calls/CallsPanel.svelte')), mountAtStart: true, badge: (session) => (session.calls?.incoming ? 1 : 0) },
  { id: 'rooms', label: 'Rooms', load: lazy(() => import('./rooms/RoomsPanel.svelte')) },
  { id: 'topics', label: 'Topics', load: lazy(() => import('./topics/TopicsPanel.svelte')) },
  { id: 'metadata', label: 'Metadata', load: lazy(() => import('./metadata/MetadataPanel.svelte')) },
  { id: 'locks', label: 'Locks', load: lazy(() => import('./locks/LocksPanel.svelte')) },
  { id: 'log', label: 'Event log', load: lazy(() => import('./log/EventLogPanel.svelte')), badge: (session) => session.log.missed },
]
