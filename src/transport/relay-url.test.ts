import { describe, expect, it } from 'vitest'
import { pageRelayUrl, relayEndpoint } from './relay-url'

describe('relay URLs', () => {
  it('a page takes the folder it was served from as its relay', () => {
    expect(pageRelayUrl({ href: 'http://127.0.0.1:8080/?user=alice#calls' })).toBe('http://127.0.0.1:8080')
    expect(pageRelayUrl({ href: 'https://example.com/signal/?mode=mesh' })).toBe('https://example.com/signal')
    expect(pageRelayUrl({ href: 'https://example.com/signal/index.html' })).toBe('https://example.com/signal')
    expect(pageRelayUrl(undefined)).toBe('http://127.0.0.1:8080')
  })

  it('endpoints live under the path prefix, and the origin is dialled', () => {
    expect(relayEndpoint('http://127.0.0.1:8080', '/socket.io')).toEqual({ origin: 'http://127.0.0.1:8080', path: '/socket.io' })
    expect(relayEndpoint('https://example.com/signal', '/socket.io')).toEqual({ origin: 'https://example.com', path: '/signal/socket.io' })
    expect(relayEndpoint('https://example.com/signal/', '/peerjs')).toEqual({ origin: 'https://example.com', path: '/signal/peerjs' })
  })
})
