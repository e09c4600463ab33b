import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import sirv from 'sirv'
import { messages, openCoordinatedTabs, send } from './chat-page'
import { expect, test } from './fixtures'

/**
 * The static build in tabs mode: dist/ served by a plain static file server (no relay,
 * nothing but files), opened in two tabs of one browser. `npm run test:e2e` builds dist/
 * first; a missing build is made here.
 */
let server: Server
let origin: string

test.beforeAll(async () => {
  if (!existsSync('dist/index.html')) execFileSync('npx', ['vite', 'build'], { stdio: 'ignore' })
  const files = sirv('dist', { dev: false })
  const notFound = (response: import('node:http').ServerResponse) => {
    response.writeHead(404)
    response.end()
  }
  // Served under /demo/, as on a static host's project page: the build's asset URLs are relative.
  server = createServer((request, response) => {
    if (!request.url?.startsWith('/demo/')) return notFound(response)
    request.url = request.url.slice('/demo'.length)
    files(request, response, () => notFound(response))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})

test.afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
})

test('the static build works from a plain file server in tabs mode: two tabs sign in, one coordinates, they chat', async ({ browser }) => {
  const context = await browser.newContext()
  const elsewhere: string[] = []
  context.on('request', (request) => { if (!request.url().startsWith(origin)) elsewhere.push(request.url()) })
  const app = `static-${Date.now()}`
  const [ann, ben] = await openCoordinatedTabs(context, ['ann', 'ben'], (user) => `${origin}/demo/?user=${user}&mode=tabs&app=${app}`)

  await send(ben, 'hello from a static page')
  await expect(messages(ann).filter({ hasText: 'hello from a static page' })).toBeVisible()

  // The coordinator tab closes: ben takes over and the header says so.
  await ann.close()
  await expect(ben.getByTestId('header-coordinator')).toHaveText(/^this tab \(/)
  await expect(ben.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
  expect(elsewhere).toEqual([])
  await context.close()
})
