import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { Relay } from '../src/relay/server'
import type { RTM } from '../src/sdk'
import { SqliteStore } from '../src/store/sqlite-store'
import { HeldCommitStore } from './held-commit-store'
import { Capture, client, relayForTest, spread, until } from './helpers'
import { expectCode, reconnected } from './relay-control'

const dataDir = mkdtempSync(joinPath(tmpdir(), 'relay-fault-'))
const relays: Relay[] = []
const clients: RTM[] = []
afterEach(async () => {
  for (const rtm of clients.splice(0)) rtm.release()
  for (const relay of relays.splice(0)) if (relay.http.listening) await relay.close()
  rmSync(dataDir, { recursive: true, force: true })
})

// Spread: fails a SQLite commit in one process and restarts it on that store; in scaled mode a failed commit steps the owner down (the cluster fault tests).
it.skipIf(spread)('a failed commit: the write is refused, nothing decided after it leaves the relay, the relay stops, and a restart serves what is on disk', async () => {
  const disk = new HeldCommitStore(await SqliteStore.open(dataDir))
  const failures: unknown[] = []
  const first = await relayForTest({ store: disk, onStoreFailure: (error) => failures.push(error) })
  relays.push(first)
  const alice = await client(first, 'alice')
  const bob = await client(first, 'bob')
  clients.push(alice, bob)
  await bob.subscribe('room', { withMetadata: true })
  const events = new Capture(bob, 'storage')
  await alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'plan', value: 'v1' }])
  await events.next((event) => event.eventType === 'SET')

  const fault = disk.holdNextCommit('disk-full')
  const lostWrite = alice.storage.setChannelMetadata('room', 'MESSAGE', [{ key: 'plan', value: 'v2' }])
  await fault.reached
  // bob reads while the write is in flight; the relay has handled his frame once our listener (after its own) runs.
  const bobSocket = [...first.io.sockets.sockets.values()].find((socket) => first.coordinator.userOf(socket.id)?.userId === 'bob')!
  const bobAsked = new Promise((resolve) => bobSocket.once('f', resolve))
  const bobRead = bob.storage.getChannelMetadata('room', 'MESSAGE')
  await bobAsked
  fault.release()

  await expectCode(lostWrite, -12001, /could not store a write/)
  // The read was answered from memory that held v2: it is refused, not delivered.
  await expectCode(bobRead, -12001)
  expect(events.seen.map((event) => event.data.metadata.plan?.value)).toEqual(['v1'])
  await until(() => failures.length === 1)
  expect(first.http.listening).toBe(false)

  const back = reconnected(alice)
  const second = await relayForTest({ port: first.port, store: await SqliteStore.open(dataDir) })
  relays.push(second)
  await back
  expect((await alice.storage.getChannelMetadata('room', 'MESSAGE')).metadata.plan.value).toBe('v1')
})
