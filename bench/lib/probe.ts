/**
 * Loaded into every server the bench starts (`--import`): answers the bench over IPC with
 * memory after a full GC, and starts/stops a CPU profile, without touching server code.
 */
import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'

type ProbeRequest = { probe: 'memory' | 'cpu' | 'profile-start' | 'profile-stop'; reqId: number; path?: string }

if (process.send) {
  let session: Session | null = null
  const gc = (globalThis as { gc?: () => void }).gc
  process.on('message', (request: ProbeRequest) => {
    if (!request?.probe) return
    const reply = (value: unknown) => process.send!({ probeReply: request.reqId, value })
    switch (request.probe) {
      case 'memory':
        gc?.()
        gc?.()
        return reply(process.memoryUsage())
      case 'cpu':
        return reply(process.cpuUsage())
      case 'profile-start':
        session = new Session()
        session.connect()
        session.post('Profiler.enable', () =>
          session!.post('Profiler.setSamplingInterval', { interval: 250 }, () =>
            session!.post('Profiler.start', () => reply(true))))
        return
      case 'profile-stop':
        if (!session) return reply(false)
        session.post('Profiler.stop', (error, result) => {
          if (!error) writeFileSync(request.path!, JSON.stringify(result.profile))
          session!.disconnect()
          session = null
          reply(!error)
        })
    }
  })
  // A server started by the bench never outlives the bench.
  process.on('disconnect', () => process.exit(0))
}
