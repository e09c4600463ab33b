import { describe, expect, it } from 'vitest'
import { Capture, relayPerTest } from './helpers'

describe('two users on a real relay', () => {
  const world = relayPerTest()
  const join = world.join

  it('chat both ways in a message channel, with the session as publisher', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const aliceMessages = new Capture(alice, 'message')
    const bobMessages = new Capture(bob, 'message')
    await alice.subscribe('lobby')
    await bob.subscribe('lobby')
    await alice.publish('lobby', 'hi bob', { customType: 'chat' })
    const atBob = await bobMessages.next((e) => e.message === 'hi bob')
    expect(atBob).toMatchObject({ channelType: 'MESSAGE', channelName: 'lobby', publisher: 'alice', messageType: 'STRING', customType: 'chat' })
    await bob.publish('lobby', 'hi alice')
    expect((await aliceMessages.next((e) => e.message === 'hi alice')).publisher).toBe('bob')
  })

  it('binary messages arrive as bytes', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const bobMessages = new Capture(bob, 'message')
    await bob.subscribe('bin')
    await alice.publish('bin', new Uint8Array([1, 2, 3, 255]))
    const event = await bobMessages.next()
    expect(event.messageType).toBe('BINARY')
    expect(event.message).toBeInstanceOf(Uint8Array)
    expect([...(event.message as Uint8Array)]).toEqual([1, 2, 3, 255])
  })

  it('a direct message reaches the user; to an offline user it fails with -11033', async () => {
    const alice = await join('alice')
    const bob = await join('bob')
    const bobMessages = new Capture(bob, 'message')
    await alice.publish('bob', 'psst', { channelType: 'USER' })
    expect(await bobMessages.next()).toMatchObject({ channelType: 'USER', channelName: 'alice', publisher: 'alice', message: 'psst' })
    await expect(alice.publish('carol', 'anyone?', { channelType: 'USER' })).rejects.toMatchObject({
      error: true, errorCode: -11033, name: 'CHANNEL_RECEIVER_OFFLINE', operation: 'publish',
    })
  })

  it('a 33 KB message fails with -11010 and a 32 KB one passes', async () => {
    const alice = await join('alice')
    await expect(alice.publish('lobby', 'x'.repeat(33 * 1024))).rejects.toMatchObject({ errorCode: -11010, operation: 'publish' })
    await expect(alice.publish('lobby', 'x'.repeat(32 * 1024))).resolves.toMatchObject({ channelName: 'lobby' })
  })
})

describe('end-to-end payload encryption', () => {
  const world = relayPerTest()

  it('peers with the same key read each other; the relay and keyless peers see only ciphertext', async () => {
    const salt = new Uint8Array(32).fill(7)
    const secure = { encryptionMode: 'AES_256_GCM' as const, cipherKey: 'correct horse battery staple', salt }
    const alice = await world.join('alice', secure)
    const bob = await world.join('bob', secure)
    const eve = await world.join('eve')
    const bobMessages = new Capture(bob, 'message')
    const eveMessages = new Capture(eve, 'message')
    const wire = new Capture(eve, 'frame')
    await bob.subscribe('vault')
    await eve.subscribe('vault')
    await alice.publish('vault', 'the eagle has landed')
    await alice.publish('vault', new Uint8Array([9, 8, 7]))
    expect(await bobMessages.next((e) => e.message === 'the eagle has landed')).toMatchObject({ messageType: 'STRING', publisher: 'alice' })
    const bytes = await bobMessages.next((e) => e.messageType === 'BINARY')
    expect([...(bytes.message as Uint8Array)]).toEqual([9, 8, 7])
    const atEve = await eveMessages.next()
    expect(atEve.messageType).toBe('BINARY')
    expect(new TextDecoder().decode(atEve.message as Uint8Array)).not.toContain('eagle')
    expect(JSON.stringify(wire.seen)).not.toContain('eagle')
  })

  it('a missing key or a salt of the wrong size fails login with -10020', async () => {
    await expect(world.join('a', { encryptionMode: 'AES_128_GCM' })).rejects.toMatchObject({ errorCode: -10020 })
    await expect(world.join('b', { encryptionMode: 'AES_128_GCM', cipherKey: 'k', salt: new Uint8Array(5) })).rejects.toMatchObject({ errorCode: -10020 })
  })
})
