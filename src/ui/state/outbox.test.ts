import { describe, expect, it } from 'vitest'
import { rtmError } from '../../protocol/errors'
import { Outbox } from './outbox.svelte'

/** A publisher we control: each delivery waits until the test settles it. */
function fakeLink(online = false) {
  const link = {
    online,
    delivered: [] as string[],
    inFlight: [] as { to: string; text: string; resolve(): void; reject(error: unknown): void }[],
  }
  const outbox = new Outbox({
    online: () => link.online,
    deliver: (to, text) => new Promise<void>((resolve, reject) => {
      link.inFlight.push({ to, text, resolve: () => { link.delivered.push(`${to}:${text}`); resolve() }, reject })
    }),
  })
  return { link, outbox }
}

/** Lets the outbox's promise chain run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('the outbox', () => {
  it('holds messages typed while offline, shown as waiting, and sends nothing', () => {
    const { link, outbox } = fakeLink(false)
    outbox.add('lobby', 'one')
    expect(outbox.to('lobby').map((m) => [m.text, m.state])).toEqual([['one', 'waiting']])
    expect(link.inFlight).toHaveLength(0)
  })

  it('sends them in order, one at a time, once the link is back', async () => {
    const { link, outbox } = fakeLink(false)
    outbox.add('lobby', 'one')
    outbox.add('lobby', 'two')
    link.online = true
    void outbox.flush()
    expect(link.inFlight.map((m) => m.text)).toEqual(['one'])
    expect(outbox.items.map((m) => m.state)).toEqual(['sending', 'waiting'])
    link.inFlight[0]!.resolve()
    await settle()
    expect(link.inFlight.map((m) => m.text)).toEqual(['one', 'two'])
    link.inFlight[1]!.resolve()
    await settle()
    expect(link.delivered).toEqual(['lobby:one', 'lobby:two'])
    expect(outbox.items).toEqual([])
  })

  it('sends at once while the link is up', async () => {
    const { link, outbox } = fakeLink(true)
    outbox.add('bob', 'hi')
    expect(link.inFlight.map((m) => m.text)).toEqual(['hi'])
    link.inFlight[0]!.resolve()
    await settle()
    expect(link.delivered).toEqual(['bob:hi'])
    expect(outbox.to('bob')).toEqual([])
  })

  it('never sends a cancelled message', async () => {
    const { link, outbox } = fakeLink(false)
    const keep = outbox.add('lobby', 'keep')
    const drop = outbox.add('lobby', 'drop')
    expect(outbox.cancel(drop.id)).toBe(true)
    link.online = true
    void outbox.flush()
    link.inFlight[0]!.resolve()
    await settle()
    expect(link.delivered).toEqual(['lobby:keep'])
    expect(outbox.items).toEqual([])
    expect(keep.text).toBe('keep')
  })

  it('cannot cancel a message already handed to the link (it will arrive)', () => {
    const { link, outbox } = fakeLink(true)
    const message = outbox.add('lobby', 'on its way')
    expect(outbox.cancel(message.id)).toBe(false)
    expect(link.inFlight).toHaveLength(1)
  })

  it('keeps a failure with its reason in words, then retries it on request', async () => {
    const link = { inFlight: [] as { resolve(): void; reject(error: unknown): void }[] }
    const failures: string[] = []
    const outbox = new Outbox({
      online: () => true,
      deliver: () => new Promise<void>((resolve, reject) => link.inFlight.push({ resolve, reject })),
      failed: (message) => failures.push(message.text),
    })
    const message = outbox.add('bob', 'are you there?')
    link.inFlight[0]!.reject(rtmError('CHANNEL_RECEIVER_OFFLINE', 'publish', 'user "bob" is offline'))
    await settle()
    expect(outbox.items[0]).toMatchObject({ id: message.id, state: 'failed', error: { message: 'They are offline.' } })
    expect(outbox.items[0]!.error!.detail).toContain('-11033')
    expect(failures).toEqual(['are you there?'])

    outbox.retry(message.id)
    expect(outbox.items[0]).toMatchObject({ state: 'sending', error: null })
    link.inFlight[1]!.resolve()
    await settle()
    expect(outbox.items).toEqual([])
  })

  it('stops at a drop and goes on from the next waiting message when the link is back', async () => {
    const { link, outbox } = fakeLink(true)
    outbox.add('lobby', 'one')
    outbox.add('lobby', 'two')
    link.online = false
    link.inFlight[0]!.resolve()
    await settle()
    expect(link.inFlight).toHaveLength(1)
    expect(outbox.items.map((m) => [m.text, m.state])).toEqual([['two', 'waiting']])
    link.online = true
    void outbox.flush()
    expect(link.inFlight.map((m) => m.text)).toEqual(['one', 'two'])
  })

  it('drops what was waiting for a channel we left', () => {
    const { outbox } = fakeLink(false)
    outbox.add('lobby', 'one')
    outbox.add('random', 'two')
    outbox.cancelAll('lobby')
    expect(outbox.items.map((m) => m.to)).toEqual(['random'])
  })
})
