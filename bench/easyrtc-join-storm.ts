/**
 * EasyRTC join storm: N raw socket.io clients authenticate into one room of one app, a few
 * at a time, against our relay (socket.io namespace /easyrtc) or, with `--server easyrtc`,
 * against open-easyrtc 2.1.8's own server. Loopback only, bounded in count and time.
 *
 *   npx tsx bench/easyrtc-join-storm.ts [--members 1000] [--concurrency 32] [--server relay|easyrtc]
 *
 * Reports the time until every client holds its token (all authenticated into the room: the
 * figure FACTS.md gives for the reference, 37 s at 1,000), the time until every member's
 * occupant list is complete, and how many roomData pushes the members received.
 */
import { io, type Socket } from 'socket.io-client'
import { ServerProcess } from './lib/servers'

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1])
const MEMBERS = Number(args.get('members') ?? 1000)
const CONCURRENCY = Number(args.get('concurrency') ?? 32)
const SERVER = (args.get('server') ?? 'relay') as 'relay' | 'easyrtc'
/** The whole run stops here, finished or not. */
const DEADLINE_MS = Number(args.get('deadline') ?? 180_000)
const ROOM = 'storm'

interface Member { socket: Socket; id: string; known: Set<string>; pushes: number }

type RoomData = Record<string, { clientList?: Record<string, unknown>; clientListDelta?: { updateClient?: Record<string, unknown>; removeClient?: Record<string, unknown> } }>

function track(member: Member, roomData: RoomData | undefined): void {
  const room = roomData?.[ROOM]
  if (!room) return
  for (const id of Object.keys(room.clientList ?? {})) member.known.add(id)
  for (const id of Object.keys(room.clientListDelta?.updateClient ?? {})) member.known.add(id)
  for (const id of Object.keys(room.clientListDelta?.removeClient ?? {})) member.known.delete(id)
}

async function join(url: string): Promise<Member> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 60_000 })
  const member: Member = { socket, id: '', known: new Set(), pushes: 0 }
  socket.on('easyrtcCmd', (msg: { msgType: string; msgData?: { roomData?: RoomData } }) => {
    if (msg.msgType !== 'roomData') return
    member.pushes++
    track(member, msg.msgData?.roomData)
  })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject) })
  const token = await socket.timeout(120_000).emitWithAck('easyrtcAuth', {
    msgType: 'authenticate',
    msgData: { apiVersion: '1.1.1-beta', applicationName: 'storm', roomJoin: { [ROOM]: { roomName: ROOM } } },
  }) as { msgType: string; msgData: { easyrtcid: string; roomData: RoomData; errorCode?: string } }
  if (token.msgType !== 'token') throw new Error(`authenticate failed: ${JSON.stringify(token.msgData)}`)
  member.id = token.msgData.easyrtcid
  track(member, token.msgData.roomData)
  return member
}

async function main(): Promise<void> {
  const server = await ServerProcess.start(SERVER)
  const url = SERVER === 'relay' ? `${server.url}/easyrtc` : server.url
  const members: Member[] = []
  const deadline = setTimeout(() => {
    console.error(`deadline of ${DEADLINE_MS} ms reached with ${members.length}/${MEMBERS} authenticated; stopping`)
    for (const m of members) m.socket.disconnect()
    void server.stop().finally(() => process.exit(2))
  }, DEADLINE_MS)
  try {
    const started = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < MEMBERS) {
        next++
        members.push(await join(url))
      }
    }))
    const authenticated = performance.now() - started
    const ids = members.map((m) => m.id)
    while (!members.every((m) => ids.every((id) => m.known.has(id)))) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const converged = performance.now() - started
    const pushes = members.reduce((sum, m) => sum + m.pushes, 0)
    const result = {
      server: SERVER, members: MEMBERS, concurrency: CONCURRENCY,
      allAuthenticatedSeconds: +(authenticated / 1000).toFixed(2),
      allListsCompleteSeconds: +(converged / 1000).toFixed(2),
      roomDataPushes: pushes,
      pushesPerMember: +(pushes / MEMBERS).toFixed(1),
      referenceFigureSeconds: MEMBERS === 1000 ? 37 : undefined,
    }
    console.log(JSON.stringify(result, null, 2))
  } finally {
    clearTimeout(deadline)
    for (const m of members) m.socket.disconnect()
    await server.stop()
  }
}

await main()
