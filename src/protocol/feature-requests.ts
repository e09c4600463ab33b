import { z } from 'zod'

/**
 * Request schemas of stream channels/topics, storage and locks (seed 000 "Channels",
 * "Topics", "Storage", "Lock"; names as in SDK.md). Spread into `requestSchemas`. As
 * there, structure is checked here and seed limits by the engine, with the seed's codes:
 * string caps here are far above the engine's limits so that an oversized value gets
 * its specific code (-11018, -12012 …) rather than a generic parse error.
 */
const name = z.string().max(1024)
const bool = z.boolean().optional()
/** Metadata and locks live on message and stream channels; 3 (USER) is refused by the engine with -10019. */
const channelType = z.union([z.literal(1), z.literal(2), z.literal(3)])
const payload = z.union([z.string(), z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected a string or bytes')])
const users = z.array(name).max(1024).optional()

const metadataItem = z.object({
  key: z.string().max(4096),
  value: z.string().max(1024 * 1024).optional(),
  /** -1 (default) = no check; > 0 = compare-and-set; 0 = only if the item does not exist yet. */
  revision: z.number().int().optional(),
})
const items = z.array(metadataItem).max(4096)
const writeOptions = {
  items: items.optional(),
  /** -1 (default) = no check; otherwise the whole set's majorRevision must equal it (0 = no set yet). */
  majorRevision: z.number().int().optional(),
  addTimeStamp: bool,
  addUserId: bool,
}
const channelTarget = { channelName: name, channelType }
const lockTarget = { channelName: name, channelType, lockName: name }

export const streamSchemas = {
  joinStream: z.object({ channelName: name, token: z.string().max(8192).optional(), withPresence: bool, withMetadata: bool, withLock: bool, beQuiet: bool }),
  leaveStream: z.object({ channelName: name }),
  joinTopic: z.object({
    channelName: name,
    topicName: name,
    meta: z.string().max(64 * 1024).optional(),
    qos: z.union([z.literal(0), z.literal(1)]).optional(),
    priority: z.union([z.literal(0), z.literal(1), z.literal(4), z.literal(8)]).optional(),
    syncWithMedia: bool,
  }),
  leaveTopic: z.object({ channelName: name, topicName: name }),
  publishTopicMessage: z.object({
    channelName: name,
    topicName: name,
    message: payload,
    customType: z.string().max(1024).optional(),
    sendTs: z.number().optional(),
  }),
  subscribeTopic: z.object({ channelName: name, topicName: name, users }),
  unsubscribeTopic: z.object({ channelName: name, topicName: name, users }),
} as const

export const storageSchemas = {
  setChannelMetadata: z.object({ ...channelTarget, ...writeOptions, lockName: name.optional() }),
  updateChannelMetadata: z.object({ ...channelTarget, ...writeOptions, lockName: name.optional() }),
  removeChannelMetadata: z.object({ ...channelTarget, ...writeOptions, lockName: name.optional() }),
  getChannelMetadata: z.object(channelTarget),
  setUserMetadata: z.object({ userId: name.optional(), ...writeOptions }),
  updateUserMetadata: z.object({ userId: name.optional(), ...writeOptions }),
  removeUserMetadata: z.object({ userId: name.optional(), ...writeOptions }),
  getUserMetadata: z.object({ userId: name.optional() }),
  subscribeUserMetadata: z.object({ userId: name }),
  unsubscribeUserMetadata: z.object({ userId: name }),
} as const

export const lockSchemas = {
  setLock: z.object({ ...lockTarget, ttl: z.number().optional() }),
  acquireLock: z.object({ ...lockTarget, retry: bool }),
  releaseLock: z.object(lockTarget),
  revokeLock: z.object({ ...lockTarget, owner: name }),
  removeLock: z.object(lockTarget),
  getLock: z.object(channelTarget),
} as const

export type StreamOp = keyof typeof streamSchemas
export type StorageOp = keyof typeof storageSchemas
export type LockOp = keyof typeof lockSchemas
