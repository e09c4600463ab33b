#!/usr/bin/env node
// `npm run dev`: the relay (tsx src/relay/main.ts, port 8080 unless PORT says otherwise) and
// Vite's dev server with hot reload, which proxies /socket.io, /ws, /peerjs and /healthz to
// the relay (vite.config.ts). Ctrl-C, or either process exiting, stops both.
import { spawn } from 'node:child_process'

const port = process.env.PORT ?? '8080'
const env = { ...process.env, PORT: port, RELAY_URL: process.env.RELAY_URL ?? `http://127.0.0.1:${port}` }
const children = [
  spawn('npx', ['tsx', 'src/relay/main.ts'], { stdio: 'inherit', env }),
  spawn('npx', ['vite'], { stdio: 'inherit', env }),
]

let stopping = false
function stop(code) {
  if (stopping) return
  stopping = true
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  process.exitCode = code
}

for (const child of children) {
  child.on('exit', (code, signal) => stop(code ?? (signal ? 1 : 0)))
  child.on('error', (error) => {
    console.error(`dev: could not start ${child.spawnargs.join(' ')}:`, error.message)
    stop(1)
  })
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(0))
