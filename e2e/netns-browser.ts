import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from '@playwright/test'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * A network namespace of its own for one browser (FACTS.md: two tabs in one namespace keep
 * talking over local addresses even with the veth down): `unshare -n` holds it, a veth pair
 * joins it to the test's namespace (10.98.0.1 here, 10.98.0.2 there), and Chromium runs in
 * it through a wrapper given to Playwright as its executable.
 */
export async function isolatedNetwork() {
  const holder: ChildProcess = spawn('unshare', ['-n', 'sleep', 'infinity'], { stdio: 'ignore' })
  const pid = holder.pid!
  const inside = (...args: string[]) => execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, ...args])
  // The holder has its namespace once `unshare` exec'd sleep: its net namespace differs from ours.
  await expect.poll(() => execFileSync('readlink', [`/proc/${pid}/ns/net`]).toString() !== execFileSync('readlink', ['/proc/self/ns/net']).toString()).toBe(true)
  const suffix = String(pid % 100_000)
  const [outer, inner] = [`vo${suffix}`, `vi${suffix}`]
  execFileSync('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner])
  execFileSync('ip', ['link', 'set', inner, 'netns', String(pid)])
  execFileSync('ip', ['addr', 'add', '10.98.0.1/24', 'dev', outer])
  execFileSync('ip', ['link', 'set', outer, 'up'])
  inside('ip', 'link', 'set', 'lo', 'up')
  inside('ip', 'addr', 'add', '10.98.0.2/24', 'dev', inner)
  inside('ip', 'link', 'set', inner, 'up')
  const dir = mkdtempSync(join(tmpdir(), 'call-resume-netns-'))
  const wrapper = join(dir, 'chromium-in-netns')
  writeFileSync(wrapper, `#!/bin/bash\nexec nsenter --net=/proc/${pid}/ns/net ${CHROMIUM} "$@"\n`)
  chmodSync(wrapper, 0o755)
  const bridges: (() => void)[] = []
  return {
    wrapper,
    /** The veth end in the namespace goes down (the browser's only interface besides lo) or up again. */
    linkDown: () => inside('ip', 'link', 'set', inner, 'down'),
    linkUp: () => inside('ip', 'link', 'set', inner, 'up'),
    /**
     * `127.0.0.1:port` inside the namespace reaches `127.0.0.1:port` out here through a UNIX
     * socket, which no interface carries: the browser's signaling survives the veth going down
     * while its media (host candidates on the veth only) does not.
     */
    async bridgeLoopback(port: number): Promise<void> {
      const path = join(dir, `bridge-${port}.sock`)
      const outside = createServer((socket) => pipe(socket, connect(port, '127.0.0.1')))
      await new Promise<void>((resolve) => outside.listen(path, resolve))
      const script = `const net=require('net');net.createServer((s)=>{const u=net.connect(${JSON.stringify(path)});s.pipe(u).pipe(s);const end=()=>{s.destroy();u.destroy()};s.on('error',end);u.on('error',end);s.on('close',end);u.on('close',end)}).listen(${port},'127.0.0.1',()=>console.log('ready'))`
      const side = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
      await new Promise<void>((resolve, reject) => {
        side.stdout!.once('data', () => resolve())
        side.once('exit', (code) => reject(new Error(`the loopback bridge exited (${code})`)))
      })
      bridges.push(() => { side.kill('SIGKILL'); outside.close() })
    },
    close() {
      for (const stop of bridges.splice(0)) stop()
      holder.kill('SIGKILL') // its namespace, and the veth end in it, go with it
      try { execFileSync('ip', ['link', 'del', outer], { stdio: 'ignore' }) } catch { /* gone with its peer, as expected */ }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function pipe(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a)
  const end = () => { a.destroy(); b.destroy() }
  for (const socket of [a, b]) {
    socket.on('error', end) // either side gone: the other goes too, as a TCP connection would
    socket.on('close', end)
  }
}
