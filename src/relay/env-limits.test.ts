import { describe, expect, it } from 'vitest'
import { limitsFromEnv, sfuFromEnv } from './env-limits'

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

  it('reads the history retention (seconds into the engine\'s ms), an unset half keeping its default, and the bytes of all apps', () => {
    expect(limitsFromEnv({ HISTORY_MAX_MESSAGES: '500', HISTORY_MAX_AGE_S: '3600', HISTORY_MAX_BYTES: '1048576' })).toEqual({
      engine: { historyRetention: { maxMessages: 500, maxAgeMs: 3_600_000 }, historyMaxBytes: 1_048_576 },
    })
    expect(limitsFromEnv({ HISTORY_MAX_AGE_S: '60' })).toEqual({ engine: { historyRetention: { maxMessages: 1000, maxAgeMs: 60_000 } } })
    expect(limitsFromEnv({ HISTORY_MAX_MESSAGES: '100000' })).toEqual({ engine: { historyRetention: { maxMessages: 100_000, maxAgeMs: 86_400_000 } } })
  })

  it('refuses history limits that are not whole numbers in range, naming the variable', () => {
    for (const bad of ['0', '100001', '10.5', '1e3', '-5', 'many']) {
      expect(() => limitsFromEnv({ HISTORY_MAX_MESSAGES: bad }), bad).toThrow(/HISTORY_MAX_MESSAGES must be a whole number of messages from 1 to 100000/)
    }
    for (const bad of ['0', '31536001', '1.5', '24h']) {
      expect(() => limitsFromEnv({ HISTORY_MAX_AGE_S: bad }), bad).toThrow(/HISTORY_MAX_AGE_S must be a whole number of seconds from 1 to 31536000/)
    }
    for (const bad of ['1048575', '64MiB', '2e9']) {
      expect(() => limitsFromEnv({ HISTORY_MAX_BYTES: bad }), bad).toThrow(/HISTORY_MAX_BYTES must be a whole number of bytes from 1048576/)
    }
  })

  it('reads an app\'s own retention from HISTORY_RETENTION_BY_APP, only the fields given', () => {
    const json = JSON.stringify({ support: { maxMessages: 100, maxAgeSeconds: 3600 }, audit: { maxAgeSeconds: 31_536_000 }, games: { maxMessages: 10 } })
    expect(limitsFromEnv({ HISTORY_RETENTION_BY_APP: json })).toEqual({
      engine: { historyRetentionByApp: { support: { maxMessages: 100, maxAgeMs: 3_600_000 }, audit: { maxAgeMs: 31_536_000_000 }, games: { maxMessages: 10 } } },
    })
    expect(limitsFromEnv({ HISTORY_RETENTION_BY_APP: '{}' })).toEqual({ engine: { historyRetentionByApp: {} } })
  })

  it('refuses a HISTORY_RETENTION_BY_APP that is not JSON or not the expected shape, saying where', () => {
    const cases: [string, RegExp][] = [
      ['{support: 1}', /not JSON/],
      ['[1]', /at the top/],
      ['{"support": {"maxMessages": 0}}', /at support\.maxMessages/],
      ['{"support": {"maxMessages": 100001}}', /at support\.maxMessages/],
      ['{"support": {"maxAgeSeconds": 1.5}}', /at support\.maxAgeSeconds/],
      ['{"support": {"maxAgeMs": 1000}}', /at support/],
      ['{"support": {}}', /give maxMessages, maxAgeSeconds or both/],
      ['{"support": {"maxMessages": "100"}}', /at support\.maxMessages/],
    ]
    for (const [bad, where] of cases) {
      expect(() => limitsFromEnv({ HISTORY_RETENTION_BY_APP: bad }), bad).toThrow(/^HISTORY_RETENTION_BY_APP must be JSON like/)
      expect(() => limitsFromEnv({ HISTORY_RETENTION_BY_APP: bad }), bad).toThrow(where)
    }
  })

  it('SFU settings: workers (0 turns SFU rooms off), the lag budget, and a UDP port range refused at start unless min < max ≤ 65535', () => {
    expect(sfuFromEnv({})).toEqual({ workers: 1, lagBudgetMs: 100, env: {} })
    expect(sfuFromEnv({ SFU_WORKERS: '0' })).toBeUndefined()
    expect(sfuFromEnv({ SFU_UDP_PORTS: ' 40000-40999 ', SFU_ANNOUNCED_ADDRESS: '203.0.113.7' }))
      .toEqual({ workers: 1, lagBudgetMs: 100, env: { SFU_UDP_PORTS: '40000-40999', SFU_ANNOUNCED_ADDRESS: '203.0.113.7' } })
    for (const bad of ['5000-4000', '4000-4000', '0-10', '1000-70000', '40000', 'a-b']) {
      expect(() => sfuFromEnv({ SFU_UDP_PORTS: bad }), bad).toThrow(/^SFU_UDP_PORTS must be a range like 40000-40999/)
    }
  })
})
