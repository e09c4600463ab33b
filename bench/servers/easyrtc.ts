/**
 * The peer: open-easyrtc 2.1.8's signaling server as its docs start it (express + socket.io),
 * with the two settings a fair benchmark needs (FACTS.md): logLevel error (the demo logs
 * at debug) and roomMaxConnection 0 (the default caps a room at 100).
 */
import { createServer } from 'node:http'
import express from 'express'
import { Server } from 'socket.io'
// @ts-expect-error open-easyrtc ships no types
import easyrtc from 'open-easyrtc'

const app = express()
app.get('/healthz', (_request, response) => { response.json({ status: 'ok', memory: process.memoryUsage() }) })
const http = createServer(app)
const io = new Server(http, { serveClient: false })

easyrtc.setOption('logLevel', 'error')
easyrtc.setOption('roomMaxConnection', 0)
easyrtc.listen(app, io, null, (error: unknown) => {
  if (error) throw error
  http.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1')
})
