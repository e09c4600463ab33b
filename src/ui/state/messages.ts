import type { HistoryMessage, MessageEvent } from '../../sdk'
import { describeBytes } from './frames'

/** One line of a conversation as the UI shows it. */
export interface ChatMessage {
  id: number
  publisher: string
  /** The text, or for a binary payload its byte count. */
  text: string
  binary: boolean
  customType: string
  /** Milliseconds since the epoch, the coordinator's publish time. */
  time: number
  /** Its place in the conversation's history, when it was stored (storeInHistory); the same message loaded twice has the same offset. */
  offset?: number
}

/** Messages kept per conversation as they arrive; older ones scroll away (and "Load earlier messages" brings them back). */
export const HISTORY_LIMIT = 300

type Incoming = Pick<MessageEvent, 'publisher' | 'message' | 'customType' | 'publishTime' | 'offset'>

export function toChatMessage(id: number, event: Incoming): ChatMessage {
  const binary = typeof event.message !== 'string'
  return {
    id,
    publisher: event.publisher,
    text: typeof event.message === 'string' ? event.message : `binary message ${describeBytes(event.message)}`,
    binary,
    customType: event.customType,
    time: event.publishTime,
    ...(event.offset !== undefined ? { offset: event.offset } : {}),
  }
}

/** A message of a history page (`rtm.history.getMessages`) as a line. */
export function fromHistory(id: number, item: HistoryMessage): ChatMessage {
  return toChatMessage(id, { publisher: item.publisher, message: item.message, customType: item.customType, publishTime: item.timestamp, offset: item.offset })
}

/**
 * Stored messages by their offset (our own direct messages carry this machine's clock, not
 * the coordinator's); the others by time.
 */
function earlier(a: ChatMessage, b: ChatMessage): number {
  return a.offset !== undefined && b.offset !== undefined ? a.offset - b.offset : a.time - b.time
}

/**
 * `list` with the messages of `incoming` it does not hold yet (a stored message is the same
 * message when its offset is), in time order. Returns the merged list and those added.
 */
export function mergeMessages(list: readonly ChatMessage[], incoming: readonly ChatMessage[]): { list: ChatMessage[]; added: ChatMessage[] } {
  const known = new Set(list.flatMap((message) => (message.offset === undefined ? [] : [message.offset])))
  const added = incoming.filter((message) => {
    if (message.offset === undefined) return true
    if (known.has(message.offset)) return false
    known.add(message.offset)
    return true
  })
  if (added.length === 0) return { list: [...list], added }
  const last = list.at(-1)
  // The usual case, a new message after the last one, keeps the list as it is.
  const inOrder = added.every((message, i) => i === 0 ? !last || earlier(last, message) <= 0 : earlier(added[i - 1]!, message) <= 0)
  return { list: inOrder ? [...list, ...added] : [...list, ...added].sort(earlier), added }
}
