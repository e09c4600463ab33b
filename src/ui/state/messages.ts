import type { MessageEvent } from '../../sdk'
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
}

/** Messages kept per conversation; older ones scroll away. */
export const HISTORY_LIMIT = 300

export function toChatMessage(id: number, event: Pick<MessageEvent, 'publisher' | 'message' | 'customType' | 'publishTime'>): ChatMessage {
  const binary = typeof event.message !== 'string'
  return {
    id,
    publisher: event.publisher,
    text: typeof event.message === 'string' ? event.message : `binary message ${describeBytes(event.message)}`,
    binary,
    customType: event.customType,
    time: event.publishTime,
  }
}

/** Appends and keeps the last HISTORY_LIMIT messages. */
export function appendCapped(list: ChatMessage[], message: ChatMessage): void {
  list.push(message)
  if (list.length > HISTORY_LIMIT) list.splice(0, list.length - HISTORY_LIMIT)
}
