import type { RoomClient, RTM } from '../../sdk'
import type { RoomType } from '../../protocol/room-codes'

/** off → starting (picking a screen, joining) → waiting (for the host to let it publish) → on. */
export type ScreenShareState = 'off' | 'starting' | 'waiting' | 'on'

export interface ScreenShareHooks {
  state(state: ScreenShareState): void
  stream(stream: MediaStream | null): void
  session(sessionId: string | null): void
  /** The share ended; `why` is the failure or refusal, null when it was simply stopped. */
  ended(why: unknown): void
}

type CreateClient = (rtm: RTM, options: ConstructorParameters<typeof RoomClient>[1]) => RoomClient

/** The host's refusal to let the screen publish, as a RoomProblem-shaped value. */
const DECLINED = new Error('The host declined your screen share')

/**
 * Our screen in the room: getDisplayMedia, shared as a second session of ours (a second
 * RoomClient on the same RTM, seed 003 `category: 'screenshare'`). It publishes when we do;
 * joined as a viewer, it waits for the host to accept its publish request.
 * Stopping (our button, the browser's own "Stop sharing", a kick) leaves that session.
 */
export class ScreenShare {
  #client: RoomClient | null = null
  #display: MediaStream | null = null
  #offs: (() => void)[] = []
  #stopped = false
  #released = false

  constructor(private readonly rtm: RTM, private readonly create: CreateClient, private readonly hooks: ScreenShareHooks) {}

  /** The screen publishes at once when we publish in the room (the coordinator's rule); joined as a viewer, it asks the host. */
  async start(rid: string, type: RoomType): Promise<void> {
    this.hooks.state('starting')
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })
      this.#display = display
      if (this.#stopped) return this.#release(null)
      for (const track of display.getTracks()) track.addEventListener('ended', () => void this.stop())
      const client = this.create(this.rtm, { stream: display, host: 'Web' })
      this.#client = client
      this.#offs = [
        client.on('role', ({ role }) => { if (role !== 'viewer') this.hooks.state('on') }),
        client.on('kicked', () => this.#release(null)),
        client.on('publishRejected', () => this.#release(DECLINED)),
      ]
      const joined = await client.join({ rid, ch: type, ve: true, ae: false, category: 'screenshare' })
      if (this.#stopped) return
      this.hooks.session(joined.sessionId)
      this.hooks.stream(display)
      if (joined.role !== 'viewer') return this.hooks.state('on')
      this.hooks.state('waiting')
      await client.requestPublish({ msg: 'screen share' })
    } catch (error) {
      this.#release(null)
      throw error
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    const client = this.#client
    try {
      if (client && client.roomState !== 'unjoined') await client.leave()
    } finally {
      this.#release(null)
    }
  }

  #release(why: unknown): void {
    this.#stopped = true
    if (this.#released) return
    this.#released = true
    for (const off of this.#offs.splice(0)) off()
    this.#client?.destroy()
    this.#client = null
    for (const track of this.#display?.getTracks() ?? []) track.stop()
    this.#display = null
    this.hooks.stream(null)
    this.hooks.session(null)
    this.hooks.state('off')
    this.hooks.ended(why)
  }
}
