import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Relay } from '../src/relay/server'
import { relayForTest } from './helpers'
import { EasyrtcClient } from './easyrtc-harness'

let relay: Relay
beforeAll(async () => { relay = await relayForTest() })
afterAll(async () => { await relay.close() })

describe('EasyRTC smoke', () => {
  it('connects and sees another client', async () => {
    const a = new EasyrtcClient(relay.url)
    const b = new EasyrtcClient(relay.url)
    const idA = await a.connect('smoke')
    const idB = await b.connect('smoke')
    const list = await a.occupantsOf('default', (o) => idB in o)
    expect(list[idB]).toMatchObject({ easyrtcid: idB, presence: { show: 'chat' } })
    expect(b.errors).toEqual([])
    expect(idA).not.toBe(idB)
    a.close(); b.close()
  })
})
