import { SocketIoTransport } from './socket-io'
import type { Link, LinkHandlers, Transport } from './transport'

export type TransportMode = 'relay' | 'tabs' | 'mesh'

export interface TransportSettings {
  appId: string
  /** The relay's URL (relay mode; the PeerJS broker in mesh mode). */
  url: string
  /** ICE servers and policy for mesh data channels, read at each new connection. */
  rtcConfiguration?: () => RTCConfiguration
}

/**
 * The transport for a mode. Tabs and mesh load their code (the engine, IndexedDB,
 * PeerJS) on the first connect, so relay-mode pages and Node bots never pay for it.
 */
export function createTransport(mode: TransportMode, settings: TransportSettings): Transport {
  const missing = unsupported(mode)
  if (missing) throw new Error(`${mode} mode needs ${missing}`)
  switch (mode) {
    case 'relay': return new SocketIoTransport(settings.url)
    case 'tabs': return new LazyTransport('tabs', async () => new (await import('./tabs')).TabsTransport(settings.appId))
    case 'mesh': return new LazyTransport('mesh', async () => new (await import('./peerjs')).MeshTransport(settings.appId, settings.url, settings.rtcConfiguration))
    default: {
      const never: never = mode
      throw new Error(`unknown transport mode ${String(never)}`)
    }
  }
}

/** What this environment lacks for `mode` (Node, an insecure http:// page without Web Locks), or null. */
function unsupported(mode: TransportMode): string | null {
  const page = globalThis as { BroadcastChannel?: unknown; navigator?: { locks?: unknown }; indexedDB?: unknown; RTCPeerConnection?: unknown }
  if (mode === 'tabs' && !(page.BroadcastChannel && page.navigator?.locks && page.indexedDB)) {
    return 'a browser page with BroadcastChannel, IndexedDB and Web Locks (Web Locks need https:// or localhost)'
  }
  if (mode === 'mesh' && !(page.RTCPeerConnection && page.indexedDB)) return 'a browser with WebRTC data channels and IndexedDB'
  return null
}

/** Creates the real transport when first needed; until then connect attempts wait for it. */
class LazyTransport implements Transport {
  private loaded: Transport | null = null
  private loading: Promise<Transport> | null = null

  constructor(readonly name: string, private readonly load: () => Promise<Transport>) {}

  connect(handlers: LinkHandlers): Link {
    if (this.loaded) return this.loaded.connect(handlers)
    let inner: Link | null = null
    let closed = false
    this.loading ??= this.load().then((transport) => (this.loaded = transport))
    this.loading.then(
      (transport) => { if (!closed) inner = transport.connect(handlers) },
      (error: unknown) => { if (!closed) handlers.close(`${this.name} mode is unavailable: ${error instanceof Error ? error.message : String(error)}`) },
    )
    return {
      send: (frame) => inner?.send(frame),
      close: () => {
        closed = true
        inner?.close()
      },
    }
  }

  describe(): string {
    return this.loaded?.describe?.() ?? (this.loading ? 'electing…' : 'not connected')
  }

  /** Leaves the election (tabs, mesh): another tab or browser takes over. */
  async destroy(): Promise<void> {
    const transport = await this.loading?.catch(() => null)
    await (transport as (Transport & { destroy?(): Promise<void> }) | null | undefined)?.destroy?.()
  }
}
