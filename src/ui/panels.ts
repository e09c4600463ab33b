import type { Component } from 'svelte'
import type { RTM } from '../sdk'
import CallsPanel from './calls/CallsPanel.svelte'
import ChatPanel from './chat/ChatPanel.svelte'
import EventLogPanel from './log/EventLogPanel.svelte'
import LocksPanel from './locks/LocksPanel.svelte'
import MetadataPanel from './metadata/MetadataPanel.svelte'
import type { Session } from './state/session.svelte'
import TopicsPanel from './topics/TopicsPanel.svelte'

/** What every panel is given; a panel may take just `rtm`. */
export interface PanelProps { rtm: RTM; session: Session }

export interface PanelInfo {
  /** Also the URL hash that opens it (`#calls`). */
  id: string
  label: string
  component: Component<PanelProps>
  /** A number to show on the tab (unread messages…); 0 hides it. */
  badge?: (session: Session) => number
}

/**
 * The workspace's panels, in tab order. A feature plugs in with one line here. Panels
 * stay mounted while hidden, so a call keeps ringing and a feed keeps filling when
 * another tab is open.
 */
export const PANELS: readonly PanelInfo[] = [
  { id: 'chat', label: 'Chat', component: ChatPanel, badge: (session) => session.unreadTotal },
  { id: 'calls', label: 'Calls', component: CallsPanel },
  { id: 'topics', label: 'Topics', component: TopicsPanel },
  { id: 'metadata', label: 'Metadata', component: MetadataPanel },
  { id: 'locks', label: 'Locks', component: LocksPanel },
  { id: 'log', label: 'Event log', component: EventLogPanel, badge: (session) => session.log.missed },
]
