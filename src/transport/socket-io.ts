import { io } from 'socket.io-client'
import { relayEndpoint } from './relay-url'
import type { Link, LinkHandlers, Transport } from './transport'

/** The relay transport: one socket.io connection per attempt, WebSocket only, no built-in retry (the SDK reconnects). */
export class SocketIoTransport implements Transport {
  readonly name = 'relay'

  constructor(private readonly url: string) {}

  connect(handlers: LinkHandlers): Link {
    const { origin, path } = relayEndpoint(this.url, '/socket.io')
    const socket = io(origin, { path, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5000 })
    let closed = false
    const finish = (reason: string) => {
      if (closed) return
      closed = true
      socket.removeAllListeners()
      socket.close()
      handlers.close(reason)
    }
    socket.on('connect', () => handlers.open())
    socket.on('f', (frame: unknown) => handlers.frame(frame))
    socket.on('connect_error', (error) => finish(`connect failed: ${error.message}`))
    socket.on('disconnect', (reason) => finish(reason))
    return {
      send: (frame) => {
        if (!closed) socket.emit('f', frame)
      },
      close: () => {
        if (closed) return
        closed = true
        socket.removeAllListeners()
        socket.close()
      },
    }
  }

  describe(): string {
    return this.url
  }
}
