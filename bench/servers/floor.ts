/**
 * The floor: the least a socket.io 4 server must do for the bench's jobs — log in (remember
 * the socket of a user id), subscribe (join a room), publish (room broadcast, or emit to
 * one user's socket) — on the same wire frames as our relay, with no validation, engine
 * or presence. Our relay's figures are read against this one.
 */
import { createServer } from 'node:http'
import { Server } from 'socket.io'

type Req = { t: 'req'; id: number; op: string; args: Record<string, unknown> }

const http = createServer((request, response) => {
  if (request.url !== '/healthz') return void response.writeHead(404).end()
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify({ status: 'ok', connections: io.engine.clientsCount, memory: process.memoryUsage() }))
})
const io = new Server(http, { maxHttpBufferSize: 1e6, serveClient: false, cors: { origin: true } })
const socketOfUser = new Map<string, string>()

io.on('connection', (socket) => {
  let userId = ''
  socket.on('f', (frame: Req) => {
    const reply = (result: unknown) => socket.emit('f', { t: 'res', id: frame.id, ok: true, result })
    const { args } = frame
    switch (frame.op) {
      case 'login':
        userId = String(args.userId)
        socketOfUser.set(userId, socket.id)
        return reply({ userId })
      case 'subscribe':
        void socket.join(String(args.channelName))
        return reply({ channelName: args.channelName })
      case 'publish': {
        const now = Date.now()
        const direct = args.channelType === 3
        const event = {
          kind: 'message', channelType: args.channelType, channelName: direct ? userId : args.channelName, topicName: '',
          messageType: 1, customType: '', message: args.message, publisher: userId, publishTime: now, timestamp: now,
        }
        const target = direct ? socketOfUser.get(String(args.channelName)) : String(args.channelName)
        if (target) io.to(target).emit('f', { t: 'evt', event })
        return reply({ channelName: args.channelName })
      }
    }
  })
  socket.on('disconnect', () => {
    if (socketOfUser.get(userId) === socket.id) socketOfUser.delete(userId)
  })
})

http.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1')
