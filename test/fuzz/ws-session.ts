import type { Ledger } from './ledger'
import { until } from './waiting'
import type { WsItem } from './ws-frames'

/** What a fuzz run needs of a raw JSON WebSocket client (CallsClient, RoomsClient). */
interface WsFuzzClient {
  readonly open: boolean
  readonly closed: { code: number; reason: string } | null
  send(frame: unknown): void
}

/** Sends a connection's frames in one burst, counted in `ledger`; returns how many of them `owed` says must be answered. */
export function sendAll(client: WsFuzzClient, items: WsItem[], ledger: Ledger, owed: (item: WsItem) => boolean): number {
  let count = 0
  for (const item of items) {
    ledger.sent++
    if (owed(item)) count++
    client.send(item.kind === 'text' ? item.text : item.data)
  }
  ledger.mustAnswer += count
  return count
}

/** Waits for a closed socket's close frame, to record its code and reason. */
export async function closeSettled(client: WsFuzzClient, path: string): Promise<void> {
  if (!client.open) await until(() => client.closed !== null, 5000, `the ${path} close`).catch(() => undefined)
}

/**
 * Records the `owed - got` frames left unanswered: closed before their answer when the
 * relay closed the socket, else missing (`missing` says which, given how many).
 */
export function recordShortfall(ledger: Ledger, client: WsFuzzClient, owed: number, got: number, missing: (short: number) => string): void {
  if (got >= owed) return
  const short = owed - got
  if (!client.open) {
    ledger.closedFirst += short
    ledger.closed(`close ${client.closed?.code ?? '?'} ${client.closed?.reason ?? ''}`.trim())
  } else {
    ledger.missing(missing(short), short)
  }
}
