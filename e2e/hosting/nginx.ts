import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate } from 'selfsigned'

/**
 * Debian's real nginx in front of a relay, configured by exactly the site file users copy
 * (deploy/nginx/signal-kit.conf) with only its listen addresses, server_name, certificate
 * paths and upstream port replaced. Runs from a temp prefix with a self-signed certificate
 * for 127.0.0.1. Inside scripts/netns-run we are root of a user namespace: nginx needs
 * `user root root` (its worker logs a harmless "initgroups failed" and serves anyway).
 */

export const NGINX_BINARY = '/usr/sbin/nginx'
export const SITE_FILE = fileURLToPath(new URL('../../deploy/nginx/signal-kit.conf', import.meta.url))
/** The production upstream in the site file, replaced by the test relay's port. */
const SITE_UPSTREAM = 'http://127.0.0.1:8080'
/** nginx parses its config and binds in milliseconds; a loaded CI box may take longer. */
const START_TIMEOUT_MS = 15_000
/** Between readiness attempts while nginx or the relay behind it is not answering yet. */
const READY_RETRY_MS = 50
/** After SIGTERM (fast shutdown: open WebSockets must not hold it up), SIGKILL. */
const STOP_GRACE_MS = 5_000

export interface NginxOptions {
  /** The relay's port on 127.0.0.1 (it runs with basePath '/signal'). */
  upstreamPort: number
  /** Polled until it answers 200 (default /signal/readyz). */
  readyPath?: string
}

/** An HTTP answer read whole. */
export interface Answer { status: number; headers: IncomingHttpHeaders; body: string }

/** GET `url` (http or https); `ca` is trusted for https. `localAddress` picks the client's loopback address. */
export function fetchText(url: string, options: { ca?: string; localAddress?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { ca: options.ca, localAddress: options.localAddress, headers: options.headers }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end()
  })
}

/** The site file with the test's ports, name and certificate; throws if an expected line moved. */
export function siteForTest(site: string, ports: { https: number; http: number; upstream: number }, certificate: { cert: string; key: string }): string {
  const replacements: [from: string, to: string, count: number][] = [
    ['listen 443 ssl;', `listen 127.0.0.1:${ports.https} ssl;`, 1],
    ['listen [::]:443 ssl;', `listen [::1]:${ports.https} ssl;`, 1],
    ['listen 80;', `listen 127.0.0.1:${ports.http};`, 1],
    ['listen [::]:80;', `listen [::1]:${ports.http};`, 1],
    ['server_name example.com;', 'server_name 127.0.0.1;', 2],
    ['/etc/letsencrypt/live/example.com/fullchain.pem', certificate.cert, 1],
    ['/etc/letsencrypt/live/example.com/privkey.pem', certificate.key, 1],
    [SITE_UPSTREAM, `http://127.0.0.1:${ports.upstream}`, 1],
  ]
  let text = site
  for (const [from, to, count] of replacements) {
    const found = text.split(from).length - 1
    if (found !== count) throw new Error(`${SITE_FILE}: expected ${count} × "${from}", found ${found}; update siteForTest with the file`)
    text = text.split(from).join(to)
  }
  return text
}

/** A running nginx. `httpsUrl`/`httpUrl` have no trailing slash; `ca` is the certificate clients should trust. */
export class Nginx {
  private exited: Promise<void>
  private stderr = ''

  private constructor(
    private readonly child: ChildProcess,
    private readonly prefix: string,
    readonly httpsPort: number,
    readonly httpPort: number,
    readonly ca: string,
  ) {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
  }

  get httpsUrl(): string { return `https://127.0.0.1:${this.httpsPort}` }
  get httpUrl(): string { return `http://127.0.0.1:${this.httpPort}` }

  /** nginx's error log and stderr so far (for failure messages). */
  errorLog(): string {
    const path = join(this.prefix, 'logs', 'error.log')
    const log = existsSync(path) ? readFileSync(path, 'utf8') : '(no error log)'
    return `${log}${this.stderr ? `\nstderr:\n${this.stderr}` : ''}`
  }

  static async start(options: NginxOptions): Promise<Nginx> {
    if (!existsSync(NGINX_BINARY)) {
      throw new Error(`${NGINX_BINARY} is missing: install Debian's nginx (apt-get install -y nginx); the hosting tests run the real one`)
    }
    const prefix = mkdtempSync(join(tmpdir(), 'signal-kit-nginx-'))
    try {
      for (const folder of ['logs', 'tmp', 'html']) mkdirSync(join(prefix, folder))
      const { private: key, cert } = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
        keyType: 'ec', algorithm: 'sha256',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
      })
      writeFileSync(join(prefix, 'cert.pem'), cert)
      writeFileSync(join(prefix, 'key.pem'), key, { mode: 0o600 })
      const [httpsPort, httpPort] = await freePorts(2)
      const site = siteForTest(readFileSync(SITE_FILE, 'utf8'), { https: httpsPort, http: httpPort, upstream: options.upstreamPort },
        { cert: join(prefix, 'cert.pem'), key: join(prefix, 'key.pem') })
      writeFileSync(join(prefix, 'signal-kit.conf'), site)
      writeFileSync(join(prefix, 'nginx.conf'), mainConfig(prefix))

      const child = spawn(NGINX_BINARY, ['-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs', 'error.log')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      const nginx = new Nginx(child, prefix, httpsPort, httpPort, cert)
      await nginx.waitReady(options.readyPath ?? '/signal/readyz')
      return nginx
    } catch (error) {
      rmSync(prefix, { recursive: true, force: true })
      throw error
    }
  }

  /** Polls `path` over https until 200; fails early, with the error log, if nginx exits. */
  private async waitReady(path: string): Promise<void> {
    let exited = false
    void this.exited.then(() => { exited = true })
    const deadline = Date.now() + START_TIMEOUT_MS
    let last = 'no answer yet'
    while (!exited && Date.now() < deadline) {
      try {
        const answer = await fetchText(`${this.httpsUrl}${path}`, { ca: this.ca })
        if (answer.status === 200) return
        last = `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`
      } catch (error) {
        last = String(error)
      }
      await new Promise((resolve) => setTimeout(resolve, READY_RETRY_MS))
    }
    const why = exited ? `nginx exited (status ${this.child.exitCode}, signal ${this.child.signalCode})` : `${this.httpsUrl}${path} not ready after ${START_TIMEOUT_MS} ms (${last})`
    const log = this.errorLog()
    await this.stop()
    throw new Error(`${why}\nnginx error log:\n${log}`)
  }

  /** Fast shutdown of the master and its worker, then the prefix is removed. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM')
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS)
      await this.exited
      clearTimeout(timer)
    }
    rmSync(this.prefix, { recursive: true, force: true })
  }
}

/**
 * `count` distinct free loopback ports: held all at once, then released for nginx to bind
 * (nginx cannot listen on port 0). One at a time, the kernel may hand out the same port twice.
 */
async function freePorts(count: number): Promise<number[]> {
  const probes: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const probe = createServer()
      probes.push(probe)
      await new Promise<void>((resolve, reject) => { probe.once('error', reject); probe.listen(0, '127.0.0.1', resolve) })
    }
    return probes.map((probe) => (probe.address() as { port: number }).port)
  } finally {
    await Promise.all(probes.map((probe) => new Promise((resolve) => probe.close(resolve))))
  }
}

/** The main config around the site file: foreground master, everything nginx writes inside the prefix. */
function mainConfig(prefix: string): string {
  return `user root root;
daemon off;
master_process on;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log ${prefix}/logs/access.log;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
    include ${prefix}/signal-kit.conf;
}
`
}
