import express from 'express'
import { ExpressPeerServer } from 'peer'
import { WebSocketServer } from 'ws'
import type { Relay } from './server'

/** Where the PeerJS broker lives; browsers use `{ host, port, path: PEERJS_PATH }`. */
export const PEERJS_PATH = '/peerjs'
/**
 * A peer whose heartbeats (PeerJS sends one every 5 s from the page's JavaScript) stop this
 * long loses its id: a frozen coordinator browser keeps its socket open, so this is what
 * frees `<appId>-coordinator` for the next claim.
 */
export const PEER_ALIVE_TIMEOUT_MS = 15_000

/**
 * The PeerJS broker for mesh mode (DESIGN.md "The relay's endpoints"): brokers WebRTC
 * data channels between browsers and, through its unique-id rule, elects the mesh
 * coordinator (whoever holds `<appId>-coordinator`).
 *
 * The broker's own WebSocket server would answer 400 to every other upgrade on the same
 * http.Server and quietly keep socket.io on long-polling (FACTS.md), so it runs with
 * `noServer` and gets only the upgrades routed to PEERJS_PATH. Clients pick their own
 * peer ids, so the broker's HTTP id API is not needed.
 */
export function attachPeerBroker(relay: Relay): { close(): void } {
  let sockets: WebSocketServer | null = null
  const broker = ExpressPeerServer(relay.http, {
    path: '/',
    // Ids are per app and short-lived; a dead peer's id is freed fast so a new coordinator can claim it.
    expire_timeout: 5000,
    alive_timeout: PEER_ALIVE_TIMEOUT_MS,
    allow_discovery: false,
    createWebSocketServer: (options) => {
      sockets = new WebSocketServer({ noServer: true, path: options.path })
      return sockets
    },
  })
  // Mounting runs the broker's setup (realm, message expiry, the WebSocket server above).
  express().use(PEERJS_PATH, broker)
  broker.on('error', (error: unknown) => relay.logger.warn({ err: error }, 'peerjs broker error'))
  relay.onUpgrade(PEERJS_PATH, (request, socket, head) => {
    const server = sockets
    if (!server) return socket.destroy()
    server.handleUpgrade(request, socket, head, (ws) => server.emit('connection', ws, request))
  })
  return {
    close() {
      for (const client of sockets?.clients ?? []) client.terminate()
      sockets?.close()
    },
  }
}
