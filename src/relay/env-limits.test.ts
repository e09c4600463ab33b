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
})
