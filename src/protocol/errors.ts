/**
 * Every error code of seed 000 ("Troubleshooting → Error codes table"): number, name and
 * the default reason. Errors travel as values ({ errorCode, name, reason, operation }).
 */
export const ERRORS = {
  OK: [0, 'Correct call'],
  NOT_INITIALIZED: [-10001, 'The SDK is not initialized'],
  NOT_LOGIN: [-10002, 'Not logged in'],
  INVALID_APP_ID: [-10003, 'Invalid App ID'],
  INVALID_TOKEN: [-10005, 'Invalid token'],
  INVALID_USER_ID: [-10006, 'Invalid user ID'],
  INIT_SERVICE_FAILED: [-10007, 'Initialization failed'],
  INVALID_CHANNEL_NAME: [-10008, 'Invalid channel name'],
  TOKEN_EXPIRED: [-10009, 'Token expired'],
  LOGIN_NO_SERVER_RESOURCES: [-10010, 'Server resources are limited'],
  LOGIN_TIMEOUT: [-10011, 'Login timeout'],
  LOGIN_REJECTED: [-10012, 'Login rejected by the server'],
  LOGIN_ABORTED: [-10013, 'Login interrupted'],
  INVALID_PARAMETER: [-10014, 'Invalid parameter'],
  LOGIN_NOT_AUTHORIZED: [-10015, 'No service permissions'],
  INCONSISTENT_APPID: [-10016, 'Inconsistent App ID'],
  DUPLICATE_OPERATION: [-10017, 'Duplicate operation'],
  INSTANCE_ALREADY_RELEASED: [-10018, 'Instance already released'],
  INVALID_CHANNEL_TYPE: [-10019, 'Invalid channel type'],
  INVALID_ENCRYPTION_PARAMETER: [-10020, 'Message encryption parameters are invalid'],
  OPERATION_RATE_EXCEED_LIMITATION: [-10021, 'Metadata call rate exceeds 10 calls per second'],
  SERVICE_NOT_SUPPORTED: [-10022, 'Service type not supported'],
  LOGIN_CANCELED: [-10023, 'Login canceled'],
  INVALID_PRIVATE_CONFIG: [-10024, 'Invalid private deployment config'],
  NOT_CONNECTED: [-10025, 'Not connected to the signaling server'],
  CHANNEL_NOT_JOINED: [-11001, 'The user has not joined the channel'],
  CHANNEL_NOT_SUBSCRIBED: [-11002, 'The user has not subscribed to the channel'],
  CHANNEL_EXCEED_TOPIC_USER_LIMITATION: [-11003, 'Too many publishers subscribed in this topic'],
  CHANNEL_IN_REUSE: [-11004, 'The stream channel was released'],
  CHANNEL_INSTANCE_EXCEED_LIMITATION: [-11005, 'Too many channels'],
  CHANNEL_IN_ERROR_STATE: [-11006, 'Channel is not available'],
  CHANNEL_JOIN_FAILED: [-11007, 'Failed to join the channel'],
  CHANNEL_INVALID_TOPIC_NAME: [-11008, 'Invalid topic name'],
  CHANNEL_INVALID_MESSAGE: [-11009, 'Invalid message: only string and Uint8Array are supported'],
  CHANNEL_MESSAGE_LENGTH_EXCEED_LIMITATION: [-11010, 'Message payload exceeds the limit'],
  CHANNEL_INVALID_USER_LIST: [-11011, 'Invalid user list'],
  CHANNEL_NOT_AVAILABLE: [-11012, 'Channel not available'],
  CHANNEL_TOPIC_NOT_SUBSCRIBED: [-11013, 'The topic is not subscribed'],
  CHANNEL_EXCEED_TOPIC_LIMITATION: [-11014, 'Too many topics'],
  CHANNEL_JOIN_TOPIC_FAILED: [-11015, 'Failed to join the topic'],
  CHANNEL_TOPIC_NOT_JOINED: [-11016, 'The topic has not been joined'],
  CHANNEL_TOPIC_NOT_EXIST: [-11017, 'The topic does not exist'],
  CHANNEL_INVALID_TOPIC_META: [-11018, 'Topic meta exceeds 256 bytes'],
  CHANNEL_SUBSCRIBE_TIMEOUT: [-11019, 'Channel subscription timed out'],
  CHANNEL_SUBSCRIBE_TOO_FREQUENT: [-11020, 'Channel subscription too frequent'],
  CHANNEL_SUBSCRIBE_FAILED: [-11021, 'Channel subscription failed'],
  CHANNEL_UNSUBSCRIBE_FAILED: [-11022, 'Failed to unsubscribe'],
  CHANNEL_ENCRYPT_MESSAGE_FAILED: [-11023, 'Message encryption failed'],
  CHANNEL_PUBLISH_MESSAGE_FAILED: [-11024, 'Message publishing failed'],
  CHANNEL_PUBLISH_MESSAGE_TIMEOUT: [-11026, 'Message publishing timed out'],
  CHANNEL_NOT_CONNECTED: [-11027, 'Disconnected from the signaling server'],
  CHANNEL_LEAVE_FAILED: [-11028, 'Failed to leave the channel'],
  CHANNEL_CUSTOM_TYPE_LENGTH_OVERFLOW: [-11029, 'customType exceeds 32 characters'],
  CHANNEL_INVALID_CUSTOM_TYPE: [-11030, 'Invalid customType'],
  CHANNEL_UNSUPPORTED_MESSAGE_TYPE: [-11031, 'Message type is not supported'],
  CHANNEL_PRESENCE_NOT_READY: [-11032, 'Presence service is not ready'],
  CHANNEL_RECEIVER_OFFLINE: [-11033, 'The receiver is offline'],
  CHANNEL_JOIN_CANCELED: [-11034, 'Join canceled'],
  STORAGE_OPERATION_FAILED: [-12001, 'Storage operation failed'],
  STORAGE_METADATA_ITEM_EXCEED_LIMITATION: [-12002, 'Too many metadata items'],
  STORAGE_INVALID_METADATA_ITEM: [-12003, 'Invalid metadata item'],
  STORAGE_INVALID_ARGUMENT: [-12004, 'Invalid argument'],
  STORAGE_INVALID_REVISION: [-12005, 'Invalid revision'],
  STORAGE_METADATA_LENGTH_OVERFLOW: [-12006, 'Metadata overflows'],
  STORAGE_INVALID_LOCK_NAME: [-12007, 'Invalid lock name'],
  STORAGE_LOCK_NOT_ACQUIRED: [-12008, 'The lock was not acquired'],
  STORAGE_INVALID_KEY: [-12009, 'Invalid metadata key'],
  STORAGE_INVALID_VALUE: [-12010, 'Invalid metadata value'],
  STORAGE_KEY_LENGTH_OVERFLOW: [-12011, 'Metadata key too long'],
  STORAGE_VALUE_LENGTH_OVERFLOW: [-12012, 'Metadata value too long'],
  STORAGE_DUPLICATE_KEY: [-12013, 'Duplicate metadata key'],
  STORAGE_OUTDATED_REVISION: [-12014, 'Outdated revision'],
  STORAGE_NOT_SUBSCRIBE: [-12015, 'This channel is not subscribed'],
  STORAGE_INVALID_METADATA_INSTANCE: [-12016, 'Metadata instance does not exist'],
  STORAGE_SUBSCRIBE_USER_EXCEED_LIMITATION: [-12017, 'Too many subscribers'],
  STORAGE_OPERATION_TIMEOUT: [-12018, 'Storage operation timed out'],
  STORAGE_NOT_AVAILABLE: [-12019, 'Storage service not available'],
  PRESENCE_NOT_CONNECTED: [-13001, 'The user is not connected'],
  PRESENCE_NOT_WRITABLE: [-13002, 'Presence service is unavailable'],
  PRESENCE_INVALID_ARGUMENT: [-13003, 'Invalid argument'],
  PRESENCE_CACHED_TOO_MANY_STATES: [-13004, 'Too many cached states'],
  PRESENCE_STATE_COUNT_OVERFLOW: [-13005, 'Too many state items'],
  PRESENCE_INVALID_STATE_KEY: [-13006, 'Invalid state key'],
  PRESENCE_INVALID_STATE_VALUE: [-13007, 'Invalid state value'],
  PRESENCE_STATE_KEY_SIZE_OVERFLOW: [-13008, 'State key too long'],
  PRESENCE_STATE_VALUE_SIZE_OVERFLOW: [-13009, 'State value too long'],
  PRESENCE_STATE_DUPLICATE_KEY: [-13010, 'Duplicate state key'],
  PRESENCE_USER_NOT_EXIST: [-13011, 'The user does not exist'],
  PRESENCE_OPERATION_TIMEOUT: [-13012, 'Presence operation timed out'],
  PRESENCE_OPERATION_FAILED: [-13013, 'Presence operation failed'],
  LOCK_OPERATION_FAILED: [-14001, 'Lock operation failed'],
  LOCK_OPERATION_TIMEOUT: [-14002, 'Lock operation timed out'],
  LOCK_OPERATION_PERFORMING: [-14003, 'Lock operation in progress'],
  LOCK_ALREADY_EXIST: [-14004, 'Lock already exists'],
  LOCK_INVALID_NAME: [-14005, 'Invalid lock name'],
  LOCK_NOT_ACQUIRED: [-14006, 'The lock was not acquired'],
  LOCK_ACQUIRE_FAILED: [-14007, 'Failed to acquire the lock'],
  LOCK_NOT_EXIST: [-14008, 'The lock does not exist'],
  // -14009 is named in the issue ("-14001 … -14009") but absent from seed 000's table.
  LOCK_NOT_AVAILABLE: [-14009, 'The lock is not available'],
} as const satisfies Record<string, readonly [number, string]>

export type ErrorName = keyof typeof ERRORS

/** The error value every failed operation resolves to, on every transport. */
export interface RtmErrorInfo {
  error: true
  errorCode: number
  name: ErrorName
  reason: string
  operation: string
}

export function rtmError(name: ErrorName, operation: string, reason?: string): RtmErrorInfo {
  const [errorCode, defaultReason] = ERRORS[name]
  return { error: true, errorCode, name, reason: reason ?? defaultReason, operation }
}

export function isRtmError(value: unknown): value is RtmErrorInfo {
  return typeof value === 'object' && value !== null && (value as RtmErrorInfo).error === true
    && typeof (value as RtmErrorInfo).errorCode === 'number'
}
