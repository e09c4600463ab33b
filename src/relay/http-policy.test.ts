import { describe, expect, it } from 'vitest'
import { originPolicy, parseAllowedOrigins } from './http-policy'

describe('originPolicy', () => {
  const byDefault = originPolicy(undefined)

  it('allows requests without an Origin (not a browser) and the page\'s own origin, default ports and case aside', () => {
    expect(byDefault(undefined, 'relay.example.org')).toBe(true)
    expect(byDefault('https://Relay.Example.org', 'relay.example.org:443')).toBe(true)
    expect(byDefault('http://relay.example.org:8080', 'relay.example.org:8080')).toBe(true)
    expect(byDefault('http://relay.example.org:8080', 'relay.example.org:9090')).toBe(false)
  })

  it('allows localhost, 127.0.0.1 and [::1] on any port by default, and nothing else', () => {
    for (const origin of ['http://localhost:5173', 'https://127.0.0.1', 'http://[::1]:8080']) expect(byDefault(origin, 'relay.example.org')).toBe(true)
    for (const origin of ['https://evil.example', 'null', 'file://', 'http://localhost.evil.example', 'chrome-extension://abc']) {
      expect([origin, byDefault(origin, 'relay.example.org')]).toEqual([origin, false])
    }
  })

  it('ALLOWED_ORIGINS replaces the default list; `*` allows every origin', () => {
    const listed = originPolicy(parseAllowedOrigins(' https://app.example.org/ , https://admin.example.org:8443'))
    expect(listed('https://app.example.org', 'relay.example.org')).toBe(true)
    expect(listed('https://admin.example.org:8443', 'relay.example.org')).toBe(true)
    expect(listed('http://app.example.org', 'relay.example.org')).toBe(false)
    expect(listed('http://localhost:5173', 'relay.example.org')).toBe(false)
    expect(listed('http://relay.example.org', 'relay.example.org')).toBe(true) // same origin stays allowed
    expect(originPolicy(['*'])('https://evil.example', 'relay.example.org')).toBe(true)
    expect(parseAllowedOrigins('  ')).toBeUndefined()
  })
})
