import { isRtmError, type ErrorName } from '../../sdk'

/**
 * A failure as a person reads it: what happened in plain words, what to do about it, and
 * the protocol detail (code, name, the server's reason) kept for developers.
 */
export interface UserError {
  message: string
  /** What to do next ("Sign in again."), when there is something to do. */
  action?: string
  /** The code and the raw reason ("-10002 NOT_LOGIN: log in first"), shown folded. */
  detail?: string
}

type Words = readonly [message: string, action?: string]

const CHECK_CONNECTION = 'Check your connection; the app reconnects by itself.'
const TRY_AGAIN = 'Try again in a moment.'

/** Seed 000 codes people meet, in words. Codes not listed read by their family (RANGE_WORDS). */
const CODE_WORDS: Partial<Record<ErrorName, Words>> = {
  NOT_LOGIN: ['You are signed out.', 'Sign in again.'],
  NOT_CONNECTED: ['Not connected to the server right now.', CHECK_CONNECTION],
  CHANNEL_NOT_CONNECTED: ['Not connected to the server right now.', CHECK_CONNECTION],
  LOGIN_TIMEOUT: ['The server did not answer the sign-in.', 'Check your connection, then sign in again.'],
  INVALID_TOKEN: ['The token was not accepted.', 'Check the token, or ask for a new one.'],
  TOKEN_EXPIRED: ['Your token has expired.', 'Sign in again with a new token.'],
  LOGIN_REJECTED: ['The server refused the sign-in.', 'Check the user id, app id and token.'],
  LOGIN_NOT_AUTHORIZED: ['This user may not sign in to this app.', 'Check the app id and token.'],
  INVALID_USER_ID: ['That user id cannot be used.', 'Use letters, digits and - _ . only, up to 64 characters.'],
  INVALID_APP_ID: ['That app id cannot be used.', 'Check the app id.'],
  INVALID_CHANNEL_NAME: ['That channel name cannot be used.', 'Use letters, digits and - _ . only, up to 64 characters.'],
  OPERATION_RATE_EXCEED_LIMITATION: ['Too many changes at once.', 'Wait a second, then try again.'],
  CHANNEL_NOT_JOINED: ['You are not in this channel.', 'Join it first.'],
  CHANNEL_NOT_SUBSCRIBED: ['You are not in this channel.', 'Join it first.'],
  CHANNEL_INSTANCE_EXCEED_LIMITATION: ['You are in too many channels.', 'Leave one first.'],
  CHANNEL_MESSAGE_LENGTH_EXCEED_LIMITATION: ['Message too long.', 'Shorten it to 32 KB or less.'],
  CHANNEL_PUBLISH_MESSAGE_TIMEOUT: ['The message was not confirmed in time.', CHECK_CONNECTION],
  CHANNEL_RECEIVER_OFFLINE: ['They are offline.', 'Try again when they are back.'],
  CHANNEL_EXCEED_TOPIC_LIMITATION: ['Too many topics in this channel.', 'Leave a topic first.'],
  CHANNEL_EXCEED_TOPIC_USER_LIMITATION: ['Too many publishers on this topic.', 'Pick fewer publishers.'],
  CHANNEL_INVALID_TOPIC_META: ['The topic note is too long.', 'Keep it to 256 bytes.'],
  CHANNEL_TOPIC_NOT_JOINED: ['You have not joined this topic.', 'Join it first.'],
  CHANNEL_TOPIC_NOT_SUBSCRIBED: ['You do not follow this topic.', 'Subscribe first.'],
  STORAGE_OUTDATED_REVISION: ['Someone changed this in the meantime.', 'Compare the two versions and choose which to keep.'],
  STORAGE_VALUE_LENGTH_OVERFLOW: ['The value is too long.', 'Shorten it to 8 KB or less.'],
  STORAGE_KEY_LENGTH_OVERFLOW: ['The key is too long.', 'Shorten it to 64 characters or less.'],
  STORAGE_METADATA_ITEM_EXCEED_LIMITATION: ['Too many entries.', 'Remove some first.'],
  STORAGE_INVALID_KEY: ['That key cannot be used.', 'Enter a key.'],
  STORAGE_INVALID_METADATA_INSTANCE: ['There is nothing saved here yet.'],
  STORAGE_METADATA_LENGTH_OVERFLOW: ['There is no room for more shared data here.', 'Remove entries you no longer need, then try again.'],
  STORAGE_INVALID_METADATA_ITEM: ['That entry is no longer there.', 'Reload to see what is stored now.'],
  LOCK_ALREADY_EXIST: ['A lock with that name already exists.', 'Take that one, or pick another name.'],
  LOCK_INVALID_NAME: ['That lock name cannot be used.', 'Use up to 64 letters, digits or punctuation, with no space at either end.'],
  LOCK_NOT_AVAILABLE: ['You are no longer waiting for this lock.', 'It was removed, or the wait was cut short; try again if it is still there.'],
  LOCK_OPERATION_FAILED: ['Too many locks, or too many people waiting for this one.', 'Remove a lock you no longer need, or try again later.'],
  LOCK_NOT_EXIST: ['There is no lock with that name.', 'Create it first.'],
  LOCK_NOT_ACQUIRED: ['You do not hold this lock.'],
  LOCK_ACQUIRE_FAILED: ['Someone else holds this lock.', 'Wait for it, or try again later.'],
  PRESENCE_USER_NOT_EXIST: ['That user is not online.'],
  PRESENCE_STATE_VALUE_SIZE_OVERFLOW: ['The status is too long.', 'Shorten it.'],
}

/** Each seed 000 code family (the thousands digit) when a code has no words of its own. */
const RANGE_WORDS: ReadonlyArray<[from: number, to: number, words: Words]> = [
  [-10999, -10001, ['Signing in or the connection failed.', CHECK_CONNECTION]],
  [-11999, -11001, ['The channel could not do that.', TRY_AGAIN]],
  [-12999, -12001, ['Saving shared data failed.', TRY_AGAIN]],
  [-13999, -13001, ['Updating who is online failed.', TRY_AGAIN]],
  [-14999, -14001, ['The lock could not do that.', TRY_AGAIN]],
]

/** getUserMedia's DOMException names, as people meet them. */
const MEDIA_WORDS: Record<string, Words> = {
  NotAllowedError: ['Camera or microphone blocked.', 'Allow them in the address bar (the camera icon), then try again.'],
  SecurityError: ['This page may not use the camera.', 'Open it over https (or on localhost).'],
  NotFoundError: ['No camera or microphone found.', 'Plug one in, then try again.'],
  NotReadableError: ['The camera or microphone is busy.', 'Close other apps that use it, then try again.'],
  OverconstrainedError: ['The camera cannot give that picture size.', TRY_AGAIN],
  AbortError: ['The camera did not start.', TRY_AGAIN],
}

/** Whether `error` is the browser refusing or failing to open the camera or microphone (getUserMedia). */
export function isMediaError(error: unknown): error is Error {
  return (error instanceof Error || (typeof DOMException !== 'undefined' && error instanceof DOMException)) && Object.hasOwn(MEDIA_WORDS, error.name)
}

/** Any failure (an SDK error value, a DOMException, an Error, a string) in words. */
export function explainError(error: unknown): UserError {
  if (isRtmError(error)) {
    const words = CODE_WORDS[error.name] ?? RANGE_WORDS.find(([from, to]) => error.errorCode >= from && error.errorCode <= to)?.[2]
    const detail = `${error.errorCode} ${error.name}: ${error.reason}`
    return words ? { message: words[0], action: words[1], detail } : { message: error.reason, detail }
  }
  if (isMediaError(error)) {
    const [message, action] = MEDIA_WORDS[error.name]!
    return { message, action, detail: `${error.name}: ${error.message}` }
  }
  return { message: error instanceof Error ? error.message : String(error) }
}

/** The same in one line (message and action), where there is room for text only. */
export function describeError(error: unknown): string {
  return sentence(explainError(error))
}

export function sentence(error: UserError): string {
  return error.action ? `${error.message} ${error.action}` : error.message
}

/** A message of our own (form checks, "could not subscribe to …") as a UserError. */
export function userError(message: string, action?: string): UserError {
  return action ? { message, action } : { message }
}
