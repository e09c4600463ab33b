import type { BenchPart } from '../lib/part'
import { runMessaging } from '../lib/scenarios'
import { messagingTable, type RelayResults } from './relay'

/** open-easyrtc 2.1.8's server: the same scenarios, room broadcast via easyrtcMsg with targetRoom. */
export const peerPart: BenchPart = {
  name: 'peer',
  description: 'open-easyrtc 2.1.8 server: the same latency, fan-out and direct scenarios',
  async run(context) {
    const peer = await runMessaging('easyrtc', 'easyrtc', context.log)
    const ours = context.results.parts.relay?.data as RelayResults | undefined
    const floor = ours?.floor
    const table = messagingTable({ floor: floor?.messaging, ours: ours?.messaging, peer })
    table.note = `${table.note}\npeer sessions log in 8 at a time per client process (64 for ours and the floor): more make its connects time out, ` +
      'every join sends a roomData delta to every member (quadratic)'
    if (!context.ranNow.has('relay') && ours) table.note = `${table.note}\nfloor and ours: from the relay run of ${context.results.parts.relay?.ranAt}`
    context.print(table)
    return { messaging: peer }
  },
}
