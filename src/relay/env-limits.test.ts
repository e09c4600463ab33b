import { describe, expect, it } from 'vitest'
import { limitsFromEnv } from './env-limits'

describe('limits from the environment of npm start', () => {
  it('reads perSecond/burst rates and a connection count; unset keeps the defaults', () => {
    expect(limitsFromEnv({})).toEqual({})
    expect(limitsFromEnv({ REQUEST_RATE: '200/400', PUBLISH_RATE: '0.5/3', MAX_CONNECTIONS_PER_ADDRESS: '0' })).toEqual({
      requestRate: { perSecond: 200, burst: 400 },
      engine: { publishRate: { perSecond: 0.5, burst: 3 } },
      maxConnectionsPerAddress: 0,
    })
  })

  it('refuses a malformed value with a line that names the variable and the expected form', () => {
    expect(() => limitsFromEnv({ REQUEST_RATE: '100' })).toThrow(/REQUEST_RATE must be "perSecond\/burst"/)
    expect(() => limitsFromEnv({ PUBLISH_RATE: '0/10' })).toThrow(/PUBLISH_RATE/)
    expect(() => limitsFromEnv({ MAX_CONNECTIONS_PER_ADDRESS: '-1' })).toThrow(/MAX_CONNECTIONS_PER_ADDRESS must be a whole number/)
  })

  it('reads the room heartbeat timeout and publisher cap into the engine config, beside PUBLISH_RATE', () => {
    expect(limitsFromEnv({ ROOM_HEARTBEAT_TIMEOUT_MS: '45000', ROOM_PUBLISHER_CAP: '4', PUBLISH_RATE: '1/2' })).toEqual({
      engine: { roomHeartbeatTimeoutMs: 45_000, roomPublisherCap: 4, publishRate: { perSecond: 1, burst: 2 } },
    })
  })

  it('refuses a room heartbeat timeout shorter than two SDK heartbeats or past an hour, and a publisher cap outside 1 to a room\'s members', () => {
    for (const bad of ['19999', '3600001', '30s', '3e4', '-30000', '30000.5']) {
      expect(() => limitsFromEnv({ ROOM_HEARTBEAT_TIMEOUT_MS: bad }), bad).toThrow(/ROOM_HEARTBEAT_TIMEOUT_MS must be a whole number of milliseconds from 20000 to 3600000/)
    }
    for (const bad of ['0', '51', 'six', '2.5']) {
      expect(() => limitsFromEnv({ ROOM_PUBLISHER_CAP: bad }), bad).toThrow(/ROOM_PUBLISHER_CAP must be a whole number of publishers from 1 to 50/)
    }
  })
})
