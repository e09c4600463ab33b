import { expect, type Page } from '@playwright/test'

/**
 * SFU rooms (issue 19) from a test's side (rooms-page.ts createRoom makes one): read what a page
 * receives from getStats (every RTCPeerConnection the page made is recorded by an init
 * script), time a late joiner's first frame, and put a UDP impairment in a page's receive
 * path by rewriting the SFU's host candidates in its offer.
 */

/** What one page receives, summed over its connections: the inbound video with the most frames, and all inbound audio. */
export interface Received {
  framesDecoded: number
  frameWidth: number
  frameHeight: number
  audioSamples: number
  audioEnergy: number
}

type PageGlobals = typeof globalThis & {
  __pcs?: RTCPeerConnection[]
  __firstFrameMs?: number
  __impair?: (address: string, port: number) => Promise<{ address: string; port: number }>
}

/**
 * Records every RTCPeerConnection in `__pcs`, and times the first decoded frame after the
 * page's room state turns `joined` (which the RoomClient sets as its join() resolves) into
 * `__firstFrameMs`, polling getStats every 20 ms.
 */
export async function recordMedia(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const globals = globalThis as PageGlobals
    const pcs: RTCPeerConnection[] = (globals.__pcs = [])
    const timeline: Record<string, number> = ((globals as unknown as { __timeline: Record<string, number> }).__timeline = {})
    const Native = globalThis.RTCPeerConnection
    globalThis.RTCPeerConnection = class extends Native {
      constructor(configuration?: RTCConfiguration) {
        super(configuration)
        pcs.push(this)
        const mark = (name: string) => { const t = (globals as unknown as { __joinedAt?: number }).__joinedAt; if (t !== undefined) timeline[name] ??= performance.now() - t }
        this.addEventListener('signalingstatechange', () => mark(`sig-${this.signalingState}`))
        this.addEventListener('iceconnectionstatechange', () => mark(`ice-${this.iceConnectionState}`))
        this.addEventListener('connectionstatechange', () => mark(`pc-${this.connectionState}`))
      }
    }
    const decodedSince = async (joinedAt: number) => {
      const at = performance.now() - joinedAt
      for (const pc of pcs) {
        if (pc.connectionState === 'closed') continue
        if (pc.connectionState === 'connected') timeline.connected ??= at
        for (const entry of (await pc.getStats()).values()) {
          if (entry.type === 'inbound-rtp' && entry.kind === 'video' && entry.packetsReceived > 0) timeline.firstPacket ??= at
          if (entry.type === 'inbound-rtp' && entry.kind === 'video' && entry.framesDecoded > 0) {
            globals.__firstFrameMs = at
            Object.assign(timeline, { pli: entry.pliCount, keyFrames: entry.keyFramesDecoded, framesReceived: entry.framesReceived })
            return true
          }
        }
      }
      return false
    }
    new MutationObserver((_, observer) => {
      const state = document.querySelector('[data-testid=rooms-state]')?.getAttribute('data-state')
      if (state !== 'joined') return
      observer.disconnect()
      const joinedAt = performance.now()
      ;(globals as unknown as { __joinedAt?: number }).__joinedAt = joinedAt
      const poll = async () => { if (!(await decodedSince(joinedAt))) setTimeout(poll, 20) }
      void poll()
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] })
  })
}

/** What the page receives now (see Received). */
export function received(page: Page): Promise<Received> {
  return page.evaluate(async () => {
    const result = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, audioSamples: 0, audioEnergy: 0 }
    for (const pc of (globalThis as PageGlobals).__pcs ?? []) {
      if (pc.connectionState === 'closed') continue
      for (const entry of (await pc.getStats()).values()) {
        if (entry.type !== 'inbound-rtp') continue
        if (entry.kind === 'video' && (entry.framesDecoded ?? 0) > result.framesDecoded) {
          Object.assign(result, { framesDecoded: entry.framesDecoded, frameWidth: entry.frameWidth ?? 0, frameHeight: entry.frameHeight ?? 0 })
        }
        if (entry.kind === 'audio') {
          result.audioSamples += entry.totalSamplesReceived ?? 0
          result.audioEnergy += entry.totalAudioEnergy ?? 0
        }
      }
    }
    return result
  })
}

/** The page receives video that advances (frames decoded, with a picture size) and audio that advances (samples and energy). */
export async function expectReceiving(page: Page): Promise<Received> {
  let first: Received | null = null
  let last: Received | null = null
  await expect.poll(async () => {
    last = await received(page)
    first ??= last.framesDecoded > 0 && last.audioSamples > 0 ? last : null
    return first !== null && last.framesDecoded >= first.framesDecoded + 5 && last.frameWidth > 0 &&
      last.audioSamples > first.audioSamples && last.audioEnergy > first.audioEnergy
  }, { timeout: 30_000, intervals: [250] }).toBe(true)
  return last!
}

/** ms from the page's join to its first decoded frame, once there was one. */
export async function firstFrameMs(page: Page): Promise<number> {
  await expect.poll(() => page.evaluate(() => (globalThis as PageGlobals).__firstFrameMs ?? null), { timeout: 20_000 }).not.toBeNull()
  return page.evaluate(() => (globalThis as PageGlobals).__firstFrameMs!)
}

/**
 * Sends the page's receive connection through `impair` (called from the page with the SFU's
 * first UDP host candidate, it starts a forwarder to it and returns the forwarder's address):
 * every host candidate in a remote offer becomes the forwarder's, and the page's own
 * candidates are not sent, so the SFU reaches the page only back through the forwarder
 * (as a peer-reflexive candidate). Before the page's first goto.
 */
export async function impairReceivePath(page: Page, impair: (address: string, port: number) => Promise<{ address: string; port: number }>): Promise<void> {
  await page.exposeFunction('__impair', impair)
  await page.addInitScript(() => {
    const globals = globalThis as PageGlobals
    const proto = globalThis.RTCPeerConnection.prototype
    const setRemote = proto.setRemoteDescription as (this: RTCPeerConnection, description: RTCSessionDescriptionInit) => Promise<void>
    const impaired = new WeakSet<RTCPeerConnection>()
    proto.setRemoteDescription = async function (this: RTCPeerConnection, description: RTCSessionDescriptionInit) {
      const sdp = description.sdp ?? ''
      const host = [...sdp.matchAll(/^a=candidate:(\S+) 1 udp (\d+) (\d+\.\d+\.\d+\.\d+) (\d+) typ host.*$/gim)].find((match) => !match[3]!.startsWith('127.'))
      if (description.type !== 'offer' || !host || impaired.has(this)) return setRemote.call(this, description)
      impaired.add(this)
      const to = await globals.__impair!(host[3]!, Number(host[4]))
      const rewritten = sdp.replace(/^a=candidate:.*\r?\n/gim, '').replace(/^(m=.*\r?\n)/gim, `$1a=candidate:${host[1]} 1 udp ${host[2]} ${to.address} ${to.port} typ host\r\n`)
      return setRemote.call(this, { type: 'offer', sdp: rewritten })
    }
    // Our candidates stay home: the SFU must not find a path around the forwarder.
    let owner: object = proto // the native prototype, under any recording subclass
    while (!Object.getOwnPropertyDescriptor(owner, 'onicecandidate')) owner = Object.getPrototypeOf(owner) as object
    const onCandidate = Object.getOwnPropertyDescriptor(owner, 'onicecandidate')!
    Object.defineProperty(proto, 'onicecandidate', {
      ...onCandidate,
      set(this: RTCPeerConnection, listener: ((event: RTCPeerConnectionIceEvent) => void) | null) {
        onCandidate.set!.call(this, listener && ((event: RTCPeerConnectionIceEvent) => { if (!impaired.has(this)) listener.call(this, event) }))
      },
    })
  })
}

/** A receiving page's path to its first frame, ms after its join: signaling, ICE, DTLS, first video packet (recordMedia). */
export function joinTimeline(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => Object.fromEntries(Object.entries((globalThis as unknown as { __timeline?: Record<string, number> }).__timeline ?? {}).map(([name, ms]) => [name, Math.round(ms)])))
}

/** What a publishing page sends: each simulcast layer's picture and what limits it, and its send estimate (bit/s). */
export function publisherLayers(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const rows: string[] = []
    for (const pc of (globalThis as PageGlobals).__pcs ?? []) {
      if (pc.connectionState === 'closed') continue
      const entries = [...(await pc.getStats()).values()]
      const layers = entries.filter((entry) => entry.type === 'outbound-rtp' && entry.kind === 'video')
      if (layers.length === 0) continue
      const pair = entries.find((entry) => entry.type === 'candidate-pair' && entry.nominated)
      rows.push(`estimate ${pair?.availableOutgoingBitrate ?? '?'} bit/s`)
      for (const layer of layers) rows.push(`${layer.rid}: ${layer.frameWidth ?? '-'}×${layer.frameHeight ?? '-'} ${layer.framesPerSecond ?? 0} fps, limited by ${layer.qualityLimitationReason}`)
    }
    return rows.join('; ')
  })
}
