import { afterEach, describe, expect, it } from 'vitest'
import type { ServerFrame } from '../protocol/events'
import { HostedCoordinator, type RemoteIdentity } from './hosted-coordinator'
import { MemoryStore } from './ports'

type Reply = Extract<ServerFrame, { t: 'res' }>

/**
 * A browser-hosted coordinator with a recording sink. It cannot check a token (no secret),
 * so in mesh mode each remote connection comes with who the relay's broker attested it as.
 */
const running: HostedCoordinator[] = []
afterEach(async () => {
  for (const hosted of running.splice(0)) await hosted.stop('test over')
})

async function coordinator() {
  const out: { to: string[]; frame: ServerFrame }[] = []
  const hosted = await HostedCoordinator.start(new MemoryStore(), { send: (to, frame) => out.push({ to, frame }), close: () => undefined })
  running.push(hosted)
  hosted.attachLocal({ deliver: (frame) => out.push({ to: ['local.1'], frame }), close: () => undefined })
  const request = async (conn: string, id: number, op: string, args: Record<string, unknown>): Promise<Reply> => {
    hosted.receive(conn, { t: 'req', id, op, args })
    for (let round = 0; round < 100; round++) {
      const reply = out.find((entry) => entry.frame.t === 'res' && entry.frame.id === id && entry.to.includes(conn))
      if (reply) return reply.frame as Reply
      await new Promise((resolve) => setImmediate(resolve))
    }
    throw new Error(`no reply to ${op} #${id}`)
  }
  const remote = (conn: string, identity?: RemoteIdentity) => hosted.attachRemote(conn, identity)
  return { request, remote }
}

const refusal = (reply: Reply) => (reply.ok ? null : { errorCode: reply.error.errorCode, reason: reply.error.reason })

describe('a browser-hosted coordinator binds each remote connection to the user the broker attested', () => {
  it('refuses a login as another user on a connection attested as mallory, with INVALID_TOKEN and the reason', async () => {
    const { request, remote } = await coordinator()
    remote('team-m4110/l1', { appId: 'team', userId: 'mallory' })
    expect(refusal(await request('team-m4110/l1', 1, 'login', { appId: 'team', userId: 'alice', token: 'x' })))
      .toEqual({ errorCode: -10005, reason: 'this connection was authenticated as mallory of app team' })
    // Another app's name is no way around it either.
    expect(refusal(await request('team-m4110/l1', 2, 'login', { appId: 'other', userId: 'mallory' }))?.errorCode).toBe(-10005)
  })

  it('lets an attested connection log in, and renew its token, as its own user', async () => {
    const { request, remote } = await coordinator()
    remote('team-a1b2/l1', { appId: 'team', userId: 'alice' })
    expect((await request('team-a1b2/l1', 1, 'login', { appId: 'team', userId: 'alice', token: 'x' })).ok).toBe(true)
    expect((await request('team-a1b2/l1', 2, 'renewToken', { token: 'y' })).ok).toBe(true)
  })

  it('refuses every login on a connection the broker did not attest while it attests the others', async () => {
    const { request, remote } = await coordinator()
    remote('team-c0ffee/l1', 'unattested')
    expect(refusal(await request('team-c0ffee/l1', 1, 'login', { appId: 'team', userId: 'alice' }))?.errorCode).toBe(-10005)
  })

  it('accepts any login in open mode (tabs, a relay without a secret) and from its own page', async () => {
    const { request, remote } = await coordinator()
    remote('tab-1/l1')
    expect((await request('tab-1/l1', 1, 'login', { appId: 'team', userId: 'alice' })).ok).toBe(true)
    expect((await request('local.1', 2, 'login', { appId: 'team', userId: 'bob' })).ok).toBe(true)
  })
})
