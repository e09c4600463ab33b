/**
 * Records getStats() of a real Chromium call, for the stats unit tests' fixtures
 * (src/sdk/media/stats/fixtures/). One page, two peer connections: pc1 sends the fake
 * camera and microphone, pc2 receives; both are read every 2 s for 14 s.
 *
 *   scripts/netns-run npx tsx scripts/record-getstats.ts [clean|lossy]   (default: both)
 *
 * WebRTC never uses loopback, so this runs inside netns-run (candidates on 10.99.0.1).
 * `lossy` puts test/net/udp-impair.ts in the media path: pc2 gets pc1's UDP host
 * candidates rewritten to the forwarder's address, and pc1 gets no candidates of pc2 at
 * all (it learns pc2 as a peer-reflexive candidate from the checks that come through the
 * forwarder), so every packet either way passes it.
 * Chromium is Debian's /usr/bin/chromium unless CHROMIUM_PATH says otherwise.
 */
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Page } from 'playwright'
import { startUdpImpairment, type UdpImpairment } from '../test/net/udp-impair'

const SNAPSHOTS = 8
const INTERVAL_MS = 2_000
/** ~7 % loss and 80 ms each way (± 10 ms): a poor but usable mobile link. */
const IMPAIRMENT = { loss: 0.07, delayMs: 80, jitterMs: 10, seed: 1 }
const OUT_DIR = 'src/sdk/media/stats/fixtures'
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-gpu',
]

/** Runs in the page; `window.call` is what the recorder drives. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>getStats recorder</title>
<video id="remote" autoplay muted playsinline></video>
<script>
const gathered = (pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === 'complete') return resolve()
  pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve())
})
const connected = (pc) => new Promise((resolve, reject) => {
  const check = () => {
    if (pc.connectionState === 'connected') resolve()
    if (pc.connectionState === 'failed') reject(new Error('ICE failed'))
  }
  pc.addEventListener('connectionstatechange', check)
  check()
})
// Plain copies; certificates are left out (large, random each run, and of no use here).
const plain = (report) => {
  const reports = [...report.values()].filter((r) => r.type !== 'certificate').map((r) => ({ ...r }))
  return { at: Math.max(...reports.map((r) => r.timestamp)), reports }
}
const pc1 = new RTCPeerConnection({ iceServers: [] })
const pc2 = new RTCPeerConnection({ iceServers: [] })
pc2.addEventListener('track', ({ streams }) => {
  const video = document.getElementById('remote')
  if (video.srcObject !== streams[0]) { video.srcObject = streams[0]; void video.play() }
})
window.call = {
  async offer() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true })
    for (const track of stream.getTracks()) pc1.addTrack(track, stream)
    await pc1.setLocalDescription()
    await gathered(pc1)
    return pc1.localDescription.sdp
  },
  async answer(sdp) {
    await pc2.setRemoteDescription({ type: 'offer', sdp })
    await pc2.setLocalDescription()
    await gathered(pc2)
    return pc2.localDescription.sdp
  },
  async finish(sdp) {
    await pc1.setRemoteDescription({ type: 'answer', sdp })
    await Promise.all([connected(pc1), connected(pc2)])
  },
  async snapshot() {
    return { receive: plain(await pc2.getStats()), send: plain(await pc1.getStats()) }
  },
}
</script>`

interface Snapshot { side: 'receive' | 'send'; at: number; reports: Record<string, unknown>[] }

/** pc1's IPv4 UDP host candidates only, each pointed at a forwarder to the real one. */
async function throughForwarders(sdp: string, forwarders: UdpImpairment[]): Promise<string> {
  const lines: string[] = []
  for (const line of sdp.split('\r\n')) {
    const candidate = /^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$/.exec(line)
    if (!candidate) {
      lines.push(line)
      continue
    }
    const [, foundation, component, protocol, priority, address, port, type, rest] = candidate
    if (protocol.toLowerCase() !== 'udp' || type !== 'host' || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) continue
    const forwarder = await startUdpImpairment({ ...IMPAIRMENT, target: { address, port: Number(port) }, host: address })
    forwarders.push(forwarder)
    lines.push(`a=candidate:${foundation} ${component} ${protocol} ${priority} ${forwarder.address} ${forwarder.port} typ ${type}${rest}`)
  }
  return lines.join('\r\n')
}

const withoutCandidates = (sdp: string) => sdp.split('\r\n').filter((line) => !line.startsWith('a=candidate:')).join('\r\n')

async function record(page: Page, url: string, lossy: boolean): Promise<Snapshot[]> {
  await page.goto(url)
  const forwarders: UdpImpairment[] = []
  try {
    const offer = await page.evaluate(() => (window as unknown as { call: { offer(): Promise<string> } }).call.offer())
    const answer = await page.evaluate((sdp) => (window as unknown as { call: { answer(sdp: string): Promise<string> } }).call.answer(sdp),
      lossy ? await throughForwarders(offer, forwarders) : offer)
    if (lossy && forwarders.length === 0) throw new Error('pc1 offered no IPv4 UDP host candidate to put a forwarder in front of')
    await page.evaluate((sdp) => (window as unknown as { call: { finish(sdp: string): Promise<void> } }).call.finish(sdp),
      lossy ? withoutCandidates(answer) : answer)
    const snapshots: Snapshot[] = []
    const started = Date.now()
    for (let i = 0; i < SNAPSHOTS; i++) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + i * INTERVAL_MS - Date.now())))
      const { receive, send } = await page.evaluate(() => (window as unknown as { call: { snapshot(): Promise<{ receive: Omit<Snapshot, 'side'>; send: Omit<Snapshot, 'side'> }> } }).call.snapshot())
      snapshots.push({ side: 'receive', ...receive }, { side: 'send', ...send })
    }
    for (const forwarder of forwarders) console.log(`forwarder ${forwarder.address}:${forwarder.port}:`, forwarder.stats())
    return snapshots
  } finally {
    await Promise.all(forwarders.map((forwarder) => forwarder.close()))
  }
}

async function main() {
  const which = process.argv[2]
  const modes = which === 'clean' ? [false] : which === 'lossy' ? [true] : [false, true]
  const server = createServer((_, response) => response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
  try {
    for (const lossy of modes) {
      const context = await browser.newContext({ permissions: ['camera', 'microphone'] })
      const snapshots = await record(await context.newPage(), url, lossy)
      await context.close()
      const file = `${OUT_DIR}/chromium-call${lossy ? '-lossy' : ''}.json`
      writeFileSync(file, `${JSON.stringify(snapshots, null, 1)}\n`)
      console.log(`wrote ${file}: ${snapshots.length} snapshots`)
    }
  } finally {
    await browser.close()
    server.close()
  }
}

await main()
