import { createSocket, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { startUdpImpairment, type UdpImpairment } from './udp-impair'

/** A loopback UDP socket that records what it receives and, as `echo`, answers every datagram with itself. */
async function endpoint(echo = false) {
  const socket = createSocket('udp4')
  const received: { data: string; at: number }[] = []
  socket.on('message', (data, from) => {
    received.push({ data: data.toString(), at: performance.now() })
    if (echo) socket.send(data, from.port, from.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return { socket, received, port: socket.address().port, address: '127.0.0.1' }
}

/** Waits for a condition, polling on the event loop (test/helpers.ts has one, but pulls in the whole SDK). */
async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const sockets: Socket[] = []
const links: UdpImpairment[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close()
  await Promise.all(links.splice(0).map((link) => link.close()))
})

async function setup(options: { loss?: number; delayMs?: number; jitterMs?: number; rateKbps?: number } = {}, echo = true) {
  const server = await endpoint(echo)
  const link = await startUdpImpairment({ target: server, seed: 7, ...options })
  const client = await endpoint()
  sockets.push(server.socket, client.socket)
  links.push(link)
  const send = (text: string) => client.socket.send(text, link.port, link.address)
  return { server, link, client, send }
}

describe('the UDP impairment', () => {
  it('with no loss forwards every datagram to the target and every reply back', async () => {
    const { server, link, client, send } = await setup()
    for (let i = 0; i < 20; i++) send(`n${i}`)
    await until(() => client.received.length === 20)
    expect(server.received.map((r) => r.data).sort()).toEqual(client.received.map((r) => r.data).sort())
    expect(link.stats()).toEqual({ forwarded: 40, dropped: 0 })
  })

  it('with loss 1 forwards nothing', async () => {
    const { server, link, send } = await setup({ loss: 1 })
    for (let i = 0; i < 10; i++) send(`n${i}`)
    await until(() => link.stats().dropped === 10)
    expect(server.received).toEqual([])
    expect(link.stats().forwarded).toBe(0)
  })

  it('drops about the share asked for, from a seed', async () => {
    const { server, link, send } = await setup({ loss: 0.3 }, false)
    for (let i = 0; i < 200; i++) send(`n${i}`)
    await until(() => link.stats().dropped + server.received.length === 200)
    expect(link.stats().dropped / 200).toBeGreaterThan(0.2)
    expect(link.stats().dropped / 200).toBeLessThan(0.4)
  })

  it('delays each direction by delayMs', async () => {
    const { client, send } = await setup({ delayMs: 60 })
    const sentAt = performance.now()
    send('ping')
    await until(() => client.received.length === 1)
    expect(client.received[0].at - sentAt).toBeGreaterThanOrEqual(2 * 60 - 2) // timers may fire up to 1 ms early
  })

  it('keeps jitter within ± jitterMs of the delay', async () => {
    const { server, send } = await setup({ delayMs: 50, jitterMs: 20 })
    const sentAt = performance.now()
    for (let i = 0; i < 10; i++) send(`n${i}`)
    await until(() => server.received.length === 10)
    for (const { at } of server.received) {
      expect(at - sentAt).toBeGreaterThanOrEqual(30 - 2)
      expect(at - sentAt).toBeLessThan(70 + 50) // generous upper bound for a loaded machine
    }
  })

  it('keeps several clients apart: each gets its own replies', async () => {
    const { link, client, send } = await setup()
    const other = await endpoint()
    sockets.push(other.socket)
    send('from-a')
    other.socket.send('from-b', link.port, link.address)
    await until(() => client.received.length === 1 && other.received.length === 1)
    expect(client.received[0].data).toBe('from-a')
    expect(other.received[0].data).toBe('from-b')
  })

  it('applies a new impairment at once', async () => {
    const { server, link, send } = await setup({ loss: 1 })
    send('lost')
    await until(() => link.stats().dropped === 1)
    link.setImpairment({ loss: 0 })
    send('through')
    await until(() => server.received.length === 1)
    expect(server.received[0].data).toBe('through')
  })

  it('caps the bandwidth: a burst past the bucket and its queue is dropped, the rest spread out at the rate', async () => {
    // 400 kbit/s = 50 bytes per ms: a 1,000-byte datagram every 20 ms.
    const { server, link, send } = await setup({ rateKbps: 400 }, false)
    const datagram = 'x'.repeat(1_000)
    const sentAt = performance.now()
    for (let i = 0; i < 40; i++) send(datagram)
    await until(() => link.stats().dropped + server.received.length === 40)
    // The bucket (20 ms = 1,000 bytes, so one datagram) and the queue (100 ms = 5,000 bytes) hold 6,
    // give or take one refilled while the burst was arriving.
    expect(server.received.length).toBeGreaterThanOrEqual(6)
    expect(server.received.length).toBeLessThanOrEqual(7)
    const last = server.received.at(-1)!.at - sentAt
    expect(last).toBeGreaterThanOrEqual(4 * 20) // the queued ones leave one per 20 ms
    expect(last).toBeLessThan(100 + 150) // generous upper bound for a loaded machine
  })

  it('caps each direction on its own: replies have a bucket of their own', async () => {
    const { server, client, link, send } = await setup({ rateKbps: 400 })
    // 6 fill one direction's bucket and queue; sharing them with the replies would drop some.
    for (let i = 0; i < 6; i++) send('x'.repeat(1_000))
    await until(() => client.received.length === 6)
    expect(server.received.length).toBe(6)
    expect(link.stats().dropped).toBe(0)
  })

  it('lifts the cap: rate 0 lets a burst through at once', async () => {
    const { server, link, send } = await setup({ rateKbps: 400 }, false)
    link.setImpairment({ rateKbps: 0 })
    for (let i = 0; i < 40; i++) send('x'.repeat(1_000))
    await until(() => server.received.length === 40)
    expect(link.stats().dropped).toBe(0)
  })

  it('stops cleanly: close resolves and its port is free again', async () => {
    const { link, send } = await setup({ delayMs: 1_000 })
    send('never delivered') // may still wait out its delay when the link closes
    await link.close()
    links.splice(links.indexOf(link), 1)
    const again = createSocket('udp4')
    sockets.push(again)
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject)
      again.bind(link.port, link.address, resolve)
    })
  })
})
