import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { build } from 'vite'
import { openConn, type BenchConn, type ProtocolName } from '../bench/lib/protocols'
import { ServerProcess, type ServerKind } from '../bench/lib/servers'
import { percentile } from '../bench/lib/report'
import { analyze } from '../bench/parts/page'
import { measureHistory } from '../bench/history'
import { measureCluster } from '../bench/cluster'
import { measureSfu } from '../bench/sfu'
import type { Marked } from '../bench/lib/wire'
import { until } from './helpers'

const servers: ServerProcess[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()))
})

async function pair(kind: ServerKind, protocol: ProtocolName): Promise<{ server: ServerProcess; a: BenchConn; b: BenchConn; got: Marked[] }> {
  const server = await ServerProcess.start(kind)
  servers.push(server)
  const [a, b] = await Promise.all([openConn(protocol, server.url), openConn(protocol, server.url)])
  const got: Marked[] = []
  b.onMarked = (marked) => got.push(marked)
  await b.login('bob', ['room'])
  await a.login('alice', ['room'])
  return { server, a, b, got }
}

describe.each([
  ['floor', 'native'],
  ['relay', 'native'],
  ['easyrtc', 'easyrtc'],
] as const)('the bench client against the %s server', (kind, protocol) => {
  it('receives a channel message and a direct message with their send times', async () => {
    const { a, b, got } = await pair(kind, protocol)
    await a.publish('room', 'b|7|123.5|')
    await a.direct(b.address, 'p|8|124.5|replyHere|')
    await until(() => got.length === 2)
    expect(got).toEqual([
      { kind: 'b', seq: 7, sent: 123.5, replyTo: '' },
      { kind: 'p', seq: 8, sent: 124.5, replyTo: 'replyHere' },
    ])
    a.close()
    b.close()
  }, 60_000)
})

describe('the server probe', () => {
  it('reports memory after GC and CPU time of the server process', async () => {
    const server = await ServerProcess.start('floor')
    servers.push(server)
    const memory = await server.memory()
    expect(memory.rss).toBeGreaterThan(memory.heapUsed)
    expect(await server.cpuMs()).toBeGreaterThan(0)
  }, 30_000)
})

describe('the history bench, in small', () => {
  it('pages stored messages and recovers, in order, what a subscriber missed while its link was cut', async () => {
    // measureHistory itself fails on a short page or a recovery out of order, twice or unmarked.
    const result = await measureHistory({ stored: 150, calls: 5, missed: 20, rounds: 1 })
    expect(result.pages.newest.count).toBe(5)
    expect(result.pages.fromStart.count).toBe(5)
    expect(result.recovery.lastRecovered.count).toBe(1)
    expect(result.recovery.requestsPerRecovery).toBe(1)
    expect(result.recovery.resumed).toBe(true)
  }, 30_000)
})

describe('the cluster bench, in small', () => {
  it('delivers every fan-out message through two relays behind HAProxy and times an owner failover', async () => {
    // Real redis-server, relay processes and HAProxy (bench/lib/cluster-stack.ts); the figures are the bench's, not targets.
    const result = await measureCluster({ relayCounts: [2], subscribers: 200, kills: 2, failoverRelays: 2, latencyMessages: 10, fanoutMs: 1000 })
    const [scale] = result.scales
    expect(scale.spread.reduce((a, b) => a + b, 0)).toBe(200)
    expect(scale.latency.lost).toBe(0)
    expect(scale.fanout.delivered).toBe(scale.fanout.expected)
    expect(scale.fanout.published).toBeGreaterThan(0)
    expect(scale.fanout.redisPublishesPerMessage).toBeGreaterThan(0) // the two relays did talk through Redis
    expect(result.failover?.all.count).toBe(2 * 2) // two clients per kill, each served again
    expect(result.failover?.all.p50).toBeGreaterThan(0)
    expect(result.failover?.samples.every((sample) => sample.newOwner !== sample.killed)).toBe(true)
  }, 120_000)
})

describe('the SFU bench, in small', () => {
  it('forwards a synthetic publisher to 1 and then 3 synthetic viewers through the relay\'s worker and measures it', async () => {
    // The real relay and its werift worker; members in child processes (bench/lib/sfu-members.ts). Figures are the bench's, not targets.
    const result = await measureSfu({ counts: [1, 3], windowMs: 1500, viewerProcesses: 1 })
    expect(result.baseline?.forwardedPerSecond).toBe(0) // the publisher alone: nobody to forward to
    expect(result.steps.map((step) => step.viewers)).toEqual([1, 3])
    for (const step of result.steps) {
      expect(step.withoutFrame).toBe(0)
      expect(step.firstFrameP50Ms).toBeGreaterThan(0)
      expect(step.fpsMin).toBeGreaterThan(0)
      expect(step.forwardedPerSecond).toBeGreaterThan(0)
      expect(step.workerCpuUsPerPacket).toBeGreaterThan(0)
      expect(step.workerRssMiB).toBeGreaterThan(0)
      expect(step.publisherPacketsPerSecond).toBeGreaterThan(0)
    }
    // Three viewers get three copies of what one gets.
    expect(result.steps[1].forwardedPerSecond).toBeGreaterThan(result.steps[0].forwardedPerSecond * 2)
  }, 60_000)
})

describe('percentile', () => {
  it('is the nearest-rank value', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i)
    expect(percentile(samples, 50)).toBe(50)
    expect(percentile(samples, 99)).toBe(99)
    expect(percentile(new Float64Array([3, 1, 2]), 100)).toBe(3)
  })
})

describe('page weight', () => {
  it('counts what index.html loads as initial and dynamic imports as lazy', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-page-test-'))
    try {
      mkdirSync(join(root, 'src'))
      writeFileSync(join(root, 'index.html'), '<!doctype html><link rel="stylesheet" href="/style.css"><script type="module" src="/src/main.js"></script>')
      writeFileSync(join(root, 'style.css'), 'body { color: red }')
      writeFileSync(join(root, 'src/main.js'), 'import { shared } from "./shared.js"; console.log(shared); document.onclick = () => import("./later.js").then((m) => m.go())')
      writeFileSync(join(root, 'src/shared.js'), 'export const shared = "shared" + Math.random()')
      writeFileSync(join(root, 'src/later.js'), 'import "./later.css"; import { shared } from "./shared.js"; export const go = () => console.log("later", shared)')
      writeFileSync(join(root, 'src/later.css'), '.later { color: blue }')
      await build({ root, configFile: false, logLevel: 'silent', build: { outDir: join(root, 'out') } })
      const result = analyze(join(root, 'out'))
      expect(result.initialJs).toHaveLength(1)
      expect(result.initialCss).toHaveLength(1)
      expect(result.lazyJs.map((a) => a.file)).toEqual([expect.stringMatching(/later-.*\.js$/)])
      expect(result.lazyCss.map((a) => a.file)).toEqual([expect.stringMatching(/later-.*\.css$/)])
      expect(result.initialJs[0].gzipBytes).toBeLessThan(result.initialJs[0].bytes + 50)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }, 60_000)
})
