import { describe, expect, it } from 'vitest'
import { DEFAULT_TURN_TTL_S, iceConfigFromEnv, iceServersFor, iceUrlsOf, turnCredential } from './ice-config'

describe('TURN credentials (coturn use-auth-secret)', () => {
  it('the username is "<expiry>:<userId>" and the credential base64(HMAC-SHA1(secret, username))', () => {
    // Known vector, computed apart from this code:
    //   printf '1700000000:alice' | openssl dgst -sha1 -hmac north-wind -binary | base64
    expect(turnCredential('north-wind', 'alice', 1_700_000_000)).toEqual({
      username: '1700000000:alice',
      credential: 'Oko4dt8u/EbTRjRUJWQDFm/zTCc=',
    })
  })

  it('a verified user gets a TURN entry that expires TTL seconds from now; nobody else does', () => {
    const config = iceConfigFromEnv({ TURN_SECRET: 's3cret', TURN_URLS: 'turn:turn.example.org:3478, turns:turn.example.org:5349', TURN_TTL: '600' })
    const now = 1_700_000_000_500
    const served = iceServersFor(config, 'bob', now)
    expect(served).toEqual({
      iceServers: [{ urls: ['turn:turn.example.org:3478', 'turns:turn.example.org:5349'], ...turnCredential('s3cret', 'bob', 1_700_000_600) }],
      expiresAt: 1_700_000_600_000,
      ttl: 600,
    })
    expect(iceServersFor(config, null, now)).toEqual({ iceServers: [], expiresAt: null, ttl: null })
  })

  it('static ICE_SERVERS go to everyone, before the TURN entry', () => {
    const config = iceConfigFromEnv({ ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"}]', TURN_SECRET: 's', TURN_URLS: 'turn:t.example.org' })
    expect(iceServersFor(config, null, 0).iceServers).toEqual([{ urls: 'stun:stun.example.org:3478' }])
    expect(iceServersFor(config, 'u', 0).iceServers.map((server) => server.urls)).toEqual(['stun:stun.example.org:3478', ['turn:t.example.org']])
  })
})

describe('ICE configuration from the environment', () => {
  it('nothing set: no ICE servers at all (no public STUN built in), TTL default 3600 s once TURN is set', () => {
    expect(iceConfigFromEnv({})).toEqual({ servers: [] })
    expect(iceConfigFromEnv({ TURN_SECRET: 's', TURN_URLS: 'turn:10.0.0.1:3478' }).turn?.ttlSeconds).toBe(DEFAULT_TURN_TTL_S)
    expect(DEFAULT_TURN_TTL_S).toBe(3600)
  })

  it('ICE_TRANSPORT_POLICY=relay is kept, and refused without a TURN server', () => {
    expect(iceConfigFromEnv({ TURN_SECRET: 's', TURN_URLS: 'turn:t', ICE_TRANSPORT_POLICY: 'relay' }).transportPolicy).toBe('relay')
    expect(() => iceConfigFromEnv({ ICE_TRANSPORT_POLICY: 'relay' })).toThrow(/ICE_TRANSPORT_POLICY=relay needs a TURN server/)
    expect(() => iceConfigFromEnv({ ICE_TRANSPORT_POLICY: 'none' })).toThrow(/ICE_TRANSPORT_POLICY must be "all" or "relay"/)
  })

  it.each([
    ['ICE_SERVERS', { ICE_SERVERS: 'stun:stun.example.org' }, /^ICE_SERVERS must be a JSON array/],
    ['ICE_SERVERS', { ICE_SERVERS: '{"urls":"stun:x"}' }, /^ICE_SERVERS must be a JSON array/],
    ['ICE_SERVERS', { ICE_SERVERS: '[{"urls":"https://stun.example.org"}]' }, /^ICE_SERVERS .*at \[0\].*not a stun:, stuns:, turn: or turns: URL/],
    ['ICE_SERVERS', { ICE_SERVERS: '[{"urls":["stun:a","turn:b"]}]' }, /^ICE_SERVERS .*needs username and credential/],
    ['ICE_SERVERS', { ICE_SERVERS: '[{"urls":"stun:a","password":"x"}]' }, /^ICE_SERVERS /],
    ['TURN_SECRET', { TURN_SECRET: 's' }, /^TURN_SECRET and TURN_URLS go together/],
    ['TURN_URLS', { TURN_URLS: 'turn:a' }, /^TURN_SECRET and TURN_URLS go together/],
    ['TURN_URLS', { TURN_SECRET: 's', TURN_URLS: 'stun:a' }, /^TURN_URLS must be a comma list .*"stun:a"/],
    ['TURN_URLS', { TURN_SECRET: 's', TURN_URLS: ' , ' }, /^TURN_URLS must be a comma list/],
    ['TURN_TTL', { TURN_SECRET: 's', TURN_URLS: 'turn:a', TURN_TTL: '10' }, /^TURN_TTL must be a whole number of seconds from 60 to 86400, not "10"/],
    ['TURN_TTL', { TURN_SECRET: 's', TURN_URLS: 'turn:a', TURN_TTL: '1h' }, /^TURN_TTL must be/],
    ['TURN_TTL', { TURN_TTL: '600' }, /^TURN_TTL needs TURN_SECRET and TURN_URLS/],
  ])('a wrong %s stops startup with a line naming it (%j)', (_name, env, message) => {
    expect(() => iceConfigFromEnv(env)).toThrow(message)
  })
})

describe('the URLs a room JOIN ack lists', () => {
  it('are every static entry\'s URLs, then the TURN URLs, without any credential', () => {
    const config = iceConfigFromEnv({
      ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"},{"urls":["turn:a.example.org","turns:a.example.org"],"username":"u","credential":"c"}]',
      TURN_SECRET: 'north-wind', TURN_URLS: 'turn:t.example.org:3478?transport=udp',
    })
    expect(iceUrlsOf(config)).toEqual(['stun:stun.example.org:3478', 'turn:a.example.org', 'turns:a.example.org', 'turn:t.example.org:3478?transport=udp'])
    expect(iceUrlsOf({ servers: [] })).toEqual([])
  })
})
