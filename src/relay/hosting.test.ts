import { describe, expect, it } from 'vitest'
import { DRAIN_TIMEOUT_MS, hostingFromEnv } from './hosting'

describe('hosting from the environment', () => {
  it('defaults to plain HTTP on localhost:8080 at the root', () => {
    expect(hostingFromEnv({})).toEqual({
      host: '127.0.0.1', port: 8080, tls: null, tlsCertPath: undefined, tlsKeyPath: undefined,
      basePath: '', trustProxy: [], drainTimeoutMs: DRAIN_TIMEOUT_MS, allInterfaces: false,
    })
  })

  it('--lan listens on every interface over HTTPS with a self-signed certificate, on 8443', () => {
    expect(hostingFromEnv({}, ['--lan'])).toMatchObject({ host: '0.0.0.0', port: 8443, tls: 'self-signed', allInterfaces: true })
    expect(hostingFromEnv({ PORT: '9000', HOST: '192.168.1.20' }, ['--lan'])).toMatchObject({ host: '192.168.1.20', port: 9000, tls: 'self-signed', allInterfaces: false })
    expect(hostingFromEnv({ HOST: '0.0.0.0', HTTPS: '1' })).toMatchObject({ host: '0.0.0.0', port: 8443, tls: 'self-signed', allInterfaces: true })
  })

  it('TLS_CERT and TLS_KEY use a real certificate, and go together', () => {
    expect(hostingFromEnv({ TLS_CERT: '/c.pem', TLS_KEY: '/k.pem' })).toMatchObject({ tls: 'files', port: 8443, tlsCertPath: '/c.pem', tlsKeyPath: '/k.pem' })
    expect(() => hostingFromEnv({ TLS_CERT: '/c.pem' })).toThrow(/TLS_CERT and TLS_KEY go together/)
  })

  it('reads BASE_PATH, TRUST_PROXY and DRAIN_TIMEOUT_MS, and names the variable that is wrong', () => {
    expect(hostingFromEnv({ BASE_PATH: '/signal/', TRUST_PROXY: 'loopback, 10.0.0.0/8', DRAIN_TIMEOUT_MS: '3000' }))
      .toMatchObject({ basePath: '/signal', trustProxy: ['loopback', '10.0.0.0/8'], drainTimeoutMs: 3000 })
    expect(() => hostingFromEnv({ BASE_PATH: 'signal' })).toThrow(/BASE_PATH/)
    expect(() => hostingFromEnv({ BASE_PATH: '/a/../b' })).toThrow(/BASE_PATH/)
    expect(() => hostingFromEnv({ TRUST_PROXY: 'not-an-address' })).toThrow(/TRUST_PROXY/)
    expect(() => hostingFromEnv({ DRAIN_TIMEOUT_MS: 'soon' })).toThrow(/DRAIN_TIMEOUT_MS/)
    expect(() => hostingFromEnv({ HTTPS: 'yes' })).toThrow(/HTTPS must be 1 or 0/)
    expect(() => hostingFromEnv({ PORT: '70000' })).toThrow(/PORT/)
  })
})
