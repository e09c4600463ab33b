/**
 * SFU rooms (issue 19): one publisher → N viewers through the relay's forwarding unit.
 * The real relay in a child process (src/relay/main.ts, SFU_WORKERS=1, its werift worker
 * forked by it, SFU_INTERFACE_ADDRESS=127.0.0.1); browser-free members
 * (test/sfu/synthetic-member.ts) on raw /ws/rooms sockets in child processes of the bench
 * (bench/lib/sfu-members.ts): the publisher (the a2m room's creator: VP8-like video at 30 fps,
 * 4 packets a frame, a keyframe every 3 s or on PLI, and opus-like audio every 20 ms) alone
 * in one, the viewers in BENCH_SFU_VIEWER_PROCESSES (default 2) others.
 *
 * Viewers join one at a time (JOIN → ack → answer sent, then the next) up to each count of
 * BENCH_SFU_COUNTS (default 1,5,10,20,30,40,49: a room holds 50 members); once every viewer
 * has its first keyframe and SETTLE_MS passed, a steady window of BENCH_SFU_WINDOW_MS
 * (default 5000) measures: the worker's forwarded packets and CPU (its own process.cpuUsage
 * and counters, from the /healthz reports at both ends of the window, so packets and CPU
 * cover the same span), RSS and event-loop lag p99 (the worst 500-ms report in the window),
 * each viewer's frames/s (distinct RTP timestamps on its video slots) and join → first
 * keyframe. The largest count at which every viewer got ≥ FPS_HELD frames/s is "the largest
 * room that held 15 fps on this box". A JOIN refused "Server overload" (the worker past
 * SFU_LAG_BUDGET_MS) is tried again for 20 s, then the ladder stops there. About 2 minutes on
 * an idle 2-core box; 3–4 when other work shares it (the load average is printed per step).
 */
import { loadavg } from 'node:os'
import { DEFAULT_PUBLISHER_CAP, MAX_ROOM_MEMBERS } from '../src/protocol/room-codes'
import type { WorkerFigures } from '../src/relay/sfu/sfu-ipc'
import type { BenchPart, BenchResults } from './lib/part'
import { RelayChild, sleep } from './lib/relay-child'
import { percentile, round, type Cell } from './lib/report'
import { SfuMembers, type MemberSample, type ViewersSample } from './lib/sfu-members'

const COUNTS = (process.env.BENCH_SFU_COUNTS ?? '1,5,10,20,30,40,49').split(',').map(Number)
const WINDOW_MS = Number(process.env.BENCH_SFU_WINDOW_MS ?? 5000)
const VIEWER_PROCESSES = Number(process.env.BENCH_SFU_VIEWER_PROCESSES ?? 2)
/** The synthetic publisher's frame rate, and what every viewer must receive for a room to "hold". */
const PUBLISHER_FPS = 30
export const FPS_HELD = 15
/** Between the last viewer's first keyframe and the window: slots, layers and REMB settle. */
const SETTLE_MS = 1000
/** Every viewer of a step has its first keyframe within this, or the step is measured without it. */
const FIRST_FRAME_TIMEOUT_MS = 15_000
/** The worker reports every 500 ms (LOAD_REPORT_INTERVAL_MS); /healthz is read this often to catch a report as it lands. */
const REPORT_POLL_MS = 20
const REPORT_TIMEOUT_MS = 5000
const APP_ID = 'bench-sfu'
/** Room members are at most 50 (MAX_ROOM_MEMBERS): 49 viewers and the publisher. */
const MAX_VIEWERS = MAX_ROOM_MEMBERS - 1

export interface SfuBenchOptions {
  counts: number[]
  windowMs: number
  viewerProcesses: number
  log?: (line: string) => void
}

type Figures = WorkerFigures & { pid: number }
interface Report { at: number; figures: Figures }

export interface SfuStep {
  viewers: number
  windowSeconds: number
  forwardedPerSecond: number
  workerCpuPercent: number
  workerCpuUsPerPacket: number
  /** Above the worker's CPU with the publisher alone (no viewers): what forwarding itself costs. */
  marginalCpuUsPerPacket: number
  /** Forwarded packets/s ÷ the worker's CPU share (cores): what one core would forward at this room size. */
  packetsPerSecondPerCore: number
  workerRssMiB: number
  lagP99Ms: number
  lagMaxMs: number
  /** JOIN → first keyframe of the viewers that joined in this step. */
  firstFrameP50Ms: number | null
  firstFrameMaxMs: number | null
  /** JOINs of this step refused with "Server overload" (the worker's lag past SFU_LAG_BUDGET_MS) and tried again. */
  overloadRefusals: number
  /** Viewers of this step still without a keyframe when the window began. */
  withoutFrame: number
  fpsMin: number
  fpsP50: number
  held: boolean
  videoPacketsPerViewerPerSecond: number
  publisherPacketsPerSecond: number
  /** Frames/s the publisher really sent (its timer runs late when the box is starved): the most a viewer can get. */
  publisherFps: number
  /** The publisher's send connection at the end of the window: anything but 'connected' means nothing reaches the SFU. */
  publisherConnection: string
  relayCpuPercent: number
  publisherProcessCpuPercent: number
  viewerProcessesCpuPercent: number
  loadAverage: number
}

export interface SfuResult {
  counts: number[]
  windowMs: number
  viewerProcesses: number
  /** The worker with the publisher alone (0 viewers). */
  baseline: SfuStep | null
  steps: SfuStep[]
  /** Set when the worker refused a viewer past the retries (SfuMembers): the ladder ended there. */
  stopped: { viewers: number; reason: string } | null
  /** The relay's (and its worker's) last output lines: warnings and worker complaints, if any. */
  relayLogTail: string
  /** The largest viewer count at which every viewer received ≥ FPS_HELD frames/s; null if none did. */
  largestHeld: number | null
  firstFrameAll: { p50Ms: number | null; maxMs: number | null; samples: number }
}

async function workerReport(relay: RelayChild): Promise<Report | null> {
  const health = await relay.health(2000) as { sfu?: Figures[] } | null
  const figures = health?.sfu?.[0]
  return figures ? { at: performance.now(), figures } : null
}

const cpuOf = (figures: WorkerFigures) => figures.cpuUserUs + figures.cpuSystemUs

/** The next report the worker sends after `previous` (its arrival time is the report's time, within REPORT_POLL_MS). */
async function nextReport(relay: RelayChild, previous: Report | null): Promise<Report> {
  const deadline = performance.now() + REPORT_TIMEOUT_MS
  let seen = previous ?? await workerReport(relay)
  while (performance.now() < deadline) {
    const report = await workerReport(relay)
    if (report && seen && cpuOf(report.figures) !== cpuOf(seen.figures)) return report
    seen ??= report
    await sleep(REPORT_POLL_MS)
  }
  throw new Error(`no SFU worker report on /healthz within ${REPORT_TIMEOUT_MS} ms:\n${relay.lastLines()}`)
}

const byName = (samples: ViewersSample[]) => new Map(samples.flatMap((sample) => sample.members.map((member) => [member.name, { member, at: sample.at }] as const)))

async function waitFirstFrames(members: SfuMembers, names: Set<string>): Promise<MemberSample[]> {
  const deadline = performance.now() + FIRST_FRAME_TIMEOUT_MS
  for (;;) {
    const fresh = (await members.sampleViewers()).flatMap((sample) => sample.members).filter((member) => names.has(member.name))
    if (fresh.every((member) => member.firstFrameMs !== null) || performance.now() > deadline) return fresh
    await sleep(100)
  }
}

/** Runs the whole ladder on one relay and one room; every child is stopped before it returns or throws. */
export async function measureSfu(options: SfuBenchOptions): Promise<SfuResult> {
  const log = options.log ?? (() => {})
  const counts = [...new Set(options.counts.map((count) => Math.min(MAX_VIEWERS, Math.max(1, Math.round(count)))))].sort((a, b) => a - b)
  const relay = await RelayChild.start({ logLevel: 'warn', env: { SFU_WORKERS: '1', SFU_INTERFACE_ADDRESS: '127.0.0.1' } })
  const members = new SfuMembers(`${relay.wsUrl}/ws/rooms?appId=${APP_ID}`, 'bench-sfu-room', options.viewerProcesses)
  const steps: SfuStep[] = []
  let baseline: SfuStep | null = null
  let workerLog = ''
  let stopped: SfuResult['stopped'] = null
  const firstFrames: number[] = []
  try {
    const started = await relay.orDeath(members.publish(), 60_000, 'the publisher joining and publishing')
    if (started.refusals) log(`sfu: the publisher's JOIN was refused ${started.refusals} times first (the worker starting); the last: ${started.lastRefusal}`)
    // The worker with the publisher's media coming in and nobody to forward it to: the base the viewers add to.
    await sleep(SETTLE_MS)
    baseline = await window(relay, members, 0, options.windowMs, [], 0, null)
    log(`sfu: publisher alone: worker ${baseline.workerCpuPercent} % CPU, RSS ${baseline.workerRssMiB} MiB`)
    for (const count of counts) {
      const joined = new Set<string>()
      let refusals = 0
      let lastRefusal: string | null = null
      try {
        while (members.viewerCount < count) {
          const name = `bench-viewer-${members.viewerCount}`
          const added = await relay.orDeath(members.addViewer(), 60_000, `viewer ${members.viewerCount} joining`)
          joined.add(name)
          refusals += added.refusals
          lastRefusal = added.lastRefusal ?? lastRefusal
        }
      } catch (error) {
        // The worker kept refusing new members: that is where this room stops growing on this box.
        if (!String(error).includes('Server overload')) throw error
        stopped = { viewers: members.viewerCount, reason: String(error).slice(String(error).indexOf('Server overload')) }
        log(`sfu: no viewer ${members.viewerCount + 1}: ${stopped.reason}`)
        break
      }
      if (refusals) log(`sfu: ${refusals} JOINs refused on the way to ${count} viewers and tried again; the last: ${lastRefusal}`)
      const fresh = await waitFirstFrames(members, joined)
      const frames = fresh.map((member) => member.firstFrameMs).filter((ms): ms is number => ms !== null)
      for (const member of fresh.filter((m) => m.firstFrameMs === null)) {
        log(`sfu: ${member.name} has no keyframe after ${FIRST_FRAME_TIMEOUT_MS / 1000} s: connection ${member.connectionState}, slots ${member.slotsNamed ? 'named' : 'not named'}, ${member.videoPackets} video / ${member.audioPackets} audio packets`)
      }
      firstFrames.push(...frames)
      await sleep(SETTLE_MS)
      steps.push({ ...await window(relay, members, count, options.windowMs, frames, fresh.length - frames.length, baseline), overloadRefusals: refusals })
      const step = steps[steps.length - 1]
      log(`sfu: ${count} viewers: ${step.forwardedPerSecond} packets/s forwarded, worker ${step.workerCpuPercent} % CPU, fps min ${step.fpsMin}`
        + (step.publisherConnection === 'connected' ? '' : `; the publisher's send connection is ${step.publisherConnection}`))
      if (step.publisherConnection === 'failed' || step.publisherConnection === 'closed') {
        // Neither the synthetic publisher nor the SFU sets a failed send connection up again: nothing more to measure.
        stopped = { viewers: count, reason: `the publisher's send connection ${step.publisherConnection}; nothing reaches the SFU after that` }
        log(`sfu: stopping: ${stopped.reason}`)
        break
      }
    }
  } finally {
    workerLog = relay.lastLines(30)
    await members.close()
    await relay.stop()
  }
  const held = steps.filter((step) => step.held).map((step) => step.viewers)
  return {
    counts, windowMs: options.windowMs, viewerProcesses: options.viewerProcesses, baseline, steps,
    relayLogTail: workerLog, stopped,
    largestHeld: held.length ? Math.max(...held) : null,
    firstFrameAll: {
      p50Ms: firstFrames.length ? round(percentile(firstFrames, 50), 0) : null,
      maxMs: firstFrames.length ? round(Math.max(...firstFrames), 0) : null,
      samples: firstFrames.length,
    },
  }
}

/** One steady window at `viewers` viewers. */
async function window(relay: RelayChild, members: SfuMembers, viewers: number, windowMs: number, firstFrames: number[], withoutFrame: number, baseline: SfuStep | null): Promise<SfuStep> {
  const start = await nextReport(relay, null)
  const [viewers0, publisher0, relayCpu0] = await Promise.all([members.sampleViewers(), members.samplePublisher(), relay.cpuSeconds()])
  const reports: Report[] = []
  let last = start
  while (performance.now() - start.at < windowMs - 600) {
    await sleep(250)
    const report = await workerReport(relay)
    if (report && cpuOf(report.figures) !== cpuOf(last.figures)) reports.push(last = report)
  }
  const end = await nextReport(relay, last)
  reports.push(end)
  const [viewers1, publisher1, relayCpu1] = await Promise.all([members.sampleViewers(), members.samplePublisher(), relay.cpuSeconds()])

  const seconds = (end.at - start.at) / 1000
  const forwarded = end.figures.forwardedPackets - start.figures.forwardedPackets
  const cpuUs = cpuOf(end.figures) - cpuOf(start.figures)
  const cpuShare = cpuUs / 1e6 / seconds
  const before = byName(viewers0)
  const fps: number[] = []
  let videoPackets = 0
  for (const [name, after] of byName(viewers1)) {
    const earlier = before.get(name)
    if (!earlier) continue
    const span = (after.at - earlier.at) / 1000
    fps.push((after.member.frames - earlier.member.frames) / span)
    videoPackets += (after.member.videoPackets - earlier.member.videoPackets) / span
  }
  const viewerSpan = (viewers1[0].at - viewers0[0].at) / 1000
  const viewerCpu = viewers1.reduce((sum, sample, i) => sum + sample.cpuUs - viewers0[i].cpuUs, 0)
  const publisherSpan = (publisher1.at - publisher0.at) / 1000
  const fpsMin = fps.length ? Math.min(...fps) : 0
  return {
    viewers,
    windowSeconds: round(seconds, 2),
    forwardedPerSecond: round(forwarded / seconds, 0),
    workerCpuPercent: round(cpuShare * 100, 1),
    workerCpuUsPerPacket: forwarded ? round(cpuUs / forwarded, 1) : NaN,
    marginalCpuUsPerPacket: forwarded && baseline ? round(((cpuShare - baseline.workerCpuPercent / 100) * seconds * 1e6) / forwarded, 1) : NaN,
    packetsPerSecondPerCore: cpuShare > 0 ? round(forwarded / seconds / cpuShare, 0) : NaN,
    workerRssMiB: round(end.figures.rssBytes / 2 ** 20, 0),
    lagP99Ms: round(Math.max(...reports.map((report) => report.figures.lagP99Ms)), 1),
    lagMaxMs: round(Math.max(...reports.map((report) => report.figures.lagMaxMs)), 1),
    firstFrameP50Ms: firstFrames.length ? round(percentile(firstFrames, 50), 0) : null,
    firstFrameMaxMs: firstFrames.length ? round(Math.max(...firstFrames), 0) : null,
    withoutFrame,
    overloadRefusals: 0,
    fpsMin: round(fpsMin, 1),
    fpsP50: fps.length ? round(percentile(fps, 50), 1) : 0,
    held: fps.length === viewers && fpsMin >= FPS_HELD,
    videoPacketsPerViewerPerSecond: fps.length ? round(videoPackets / fps.length, 0) : 0,
    publisherPacketsPerSecond: round((publisher1.packetsSent - publisher0.packetsSent) / publisherSpan, 0),
    publisherFps: round((publisher1.framesSent - publisher0.framesSent) / publisherSpan, 1),
    publisherConnection: publisher1.connectionState,
    relayCpuPercent: relayCpu0 !== null && relayCpu1 !== null ? round(((relayCpu1 - relayCpu0) / seconds) * 100, 1) : NaN,
    publisherProcessCpuPercent: round(((publisher1.cpuUs - publisher0.cpuUs) / 1e6 / publisherSpan) * 100, 1),
    viewerProcessesCpuPercent: round((viewerCpu / 1e6 / viewerSpan) * 100, 1),
    loadAverage: round(loadavg()[0], 2),
  }
}

/** The rooms part's last mesh figures (bench/results/latest.json), if it ran. */
function meshFigures(results: BenchResults): { joinP50Ms?: number; members?: number; ranAt?: string } {
  const rooms = results.parts.rooms
  const meeting = (rooms?.data as { meeting?: { joinP50Ms?: number; members?: number } } | undefined)?.meeting
  return { joinP50Ms: meeting?.joinP50Ms, members: meeting?.members, ranAt: rooms?.ranAt }
}

export const sfuPart: BenchPart = {
  name: 'sfu',
  description: 'SFU rooms: 1 publisher → 1…49 synthetic viewers through the werift worker: packets/s per core, worker CPU/RSS/lag, join → first frame, fps held',
  async run({ log, print, results }) {
    const result = await measureSfu({ counts: COUNTS, windowMs: WINDOW_MS, viewerProcesses: VIEWER_PROCESSES, log })
    const row = (s: SfuStep, label: Cell): Cell[] => [
      label, s.forwardedPerSecond, s.workerCpuPercent, s.workerCpuUsPerPacket, s.marginalCpuUsPerPacket, s.packetsPerSecondPerCore, s.workerRssMiB,
      s.firstFrameP50Ms, s.firstFrameMaxMs, s.viewers ? s.fpsMin : null, s.lagP99Ms, s.viewers ? (s.held ? 'yes' : 'NO') : null,
    ]
    const rows = [...(result.baseline ? [row(result.baseline, '0 (publisher alone)')] : []), ...result.steps.map((s) => row(s, s.viewers))]
    const troubles = result.steps.filter((s) => s.overloadRefusals || s.withoutFrame || s.publisherConnection !== 'connected')
      .map((s) => `${s.viewers} viewers: ${s.overloadRefusals} JOINs refused "Server overload" and tried again, ${s.withoutFrame} viewers without a first keyframe in ${FIRST_FRAME_TIMEOUT_MS / 1000} s`
        + (s.publisherConnection === 'connected' ? '' : `, the publisher's send connection ${s.publisherConnection}`))
    print({
      title: `SFU room, 1 synthetic publisher (${PUBLISHER_FPS} fps) → N synthetic viewers, one werift worker (${WINDOW_MS / 1000} s steady windows)`,
      columns: ['viewers', 'forwarded pkt/s', 'worker CPU %', 'µs / pkt', 'marginal µs / pkt', 'pkt/s per core', 'worker RSS MiB', 'join→1st frame p50 ms', 'max ms', 'fps min', 'lag p99 ms', `≥ ${FPS_HELD} fps all`],
      rows,
      note: `Largest room that held ${FPS_HELD} fps on every viewer on this box: ${result.largestHeld === null ? 'none' : `${result.largestHeld} viewers + the publisher`}`
        + `${result.largestHeld === Math.max(...result.counts) ? ' (the largest count tried)' : ''}. `
        + 'Packets forwarded = one per packet per recipient (video and audio); pkt/s per core = forwarded/s ÷ the worker\'s CPU share. '
        + 'join→1st frame: from a viewer\'s JOIN sent to its first VP8 keyframe received, for the viewers that joined at that step (one at a time; keyframes on PLI, at most one per 500 ms). '
        + 'Lag p99: the worst 500-ms report of the worker\'s event loop in the window. marginal µs / pkt: above the worker\'s CPU with the publisher alone.'
        + (troubles.length ? ` On the way: ${troubles.join('; ')}.` : '')
        + (result.stopped ? ` Stopped at ${result.stopped.viewers} viewers: ${result.stopped.reason}` : ''),
    })
    const mesh = meshFigures(results)
    print({
      title: 'What shares the 2 cores, and the mesh beside it',
      columns: ['viewers', 'worker %', 'relay %', 'publisher proc %', 'viewer procs %', 'load 1 min', 'publisher sent fps', 'publisher uploads: mesh / SFU', 'publisher pkt/s: mesh / SFU'],
      rows: result.steps.map((s) => [
        s.viewers, s.workerCpuPercent, s.relayCpuPercent, s.publisherProcessCpuPercent, s.viewerProcessesCpuPercent, s.loadAverage, s.publisherFps,
        `${s.viewers} / 1`, `${round(s.viewers * s.publisherPacketsPerSecond, 0)} / ${s.publisherPacketsPerSecond}`,
      ]),
      note: `Every process here shares one 2-core box: the relay (signaling), its SFU worker, the publisher's process and ${result.viewerProcesses} viewer process(es) (each viewer a werift connection decrypting every packet), plus whatever else runs (load). `
        + `A mesh makes the publisher encode and upload once per viewer (N streams; the mesh room caps publishers at ${DEFAULT_PUBLISHER_CAP} by default, ROOM_PUBLISHER_CAP); through the SFU it uploads one. `
        + (mesh.joinP50Ms !== undefined
          ? `Mesh figures of the rooms part (${mesh.ranAt}): ${mesh.members} Chromium members in an m2m room, last "Join" click → every remote video plays p50 ${mesh.joinP50Ms} ms (real browsers, getUserMedia and decode included; not the same measure as the synthetic first keyframe above).`
          : 'The rooms part has no mesh figures in bench/results/latest.json yet (npm run bench -- rooms).'),
    })
    return { ...result, mesh }
  },
}
