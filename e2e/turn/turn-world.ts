import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, expect, type Browser, type Page } from '@playwright/test'
import { SignJWT } from 'jose'
import pino from 'pino'
import { selfSignedCertificate } from '../../src/relay/lan'
import { startRelay, type Relay } from '../../src/relay/server'
import { BrowserNamespace } from '../browser-namespace'
import { Coturn } from './coturn'
import { CHROMIUM_ARGS } from '../chromium-args'
import { openApp } from '../open-app'

/** The test's namespace address the relay and coturn listen on. */
export const TURN_WORLD_ADDRESS = '10.99.0.1'
const TOKEN_SECRET = 'e2e-token-secret'
const TURN_SECRET = 'e2e-turn-secret'

export interface TurnWorldOptions {
  /** One browser per namespace: its name and subnet (10.99.<subnet>.0/24, see e2e/browser-namespace.ts). */
  namespaces: readonly (readonly [string, number])[]
  /** The TURN URL the relay hands out, given coturn (e.g. through an impairment in front of it). Default coturn's own. */
  turnUrl?(coturn: Coturn): Promise<string>
}

/**
 * Browsers that cannot reach each other, and a relay (HTTPS, TOKEN_SECRET set) and a real
 * coturn that they all reach: each Chromium runs in a network namespace of its own, and the
 * namespaces meet only in the test's, where the relay and coturn listen on
 * TURN_WORLD_ADDRESS. A call between two of them can only connect through coturn.
 * Needs scripts/netns-run; `stop()` ends all of it.
 */
export class TurnWorld {
  readonly browsers: Browser[] = []
  private readonly namespaces: BrowserNamespace[] = []
  private readonly cleanups: (() => Promise<unknown>)[] = []
  private relayRef: Relay | null = null

  static async start(options: TurnWorldOptions): Promise<TurnWorld> {
    const world = new TurnWorld()
    try {
      await world.open(options)
    } catch (error) {
      await world.stop().catch(() => undefined)
      throw error
    }
    return world
  }

  get relay(): Relay {
    if (!this.relayRef) throw new Error('the world is not started')
    return this.relayRef
  }

  /** A login token for `userId` in `appId`, signed with the relay's secret. */
  token(userId: string, appId: string): Promise<string> {
    return new SignJWT({ appId }).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime('1h').sign(new TextEncoder().encode(TOKEN_SECRET))
  }

  /** Signs in through the form in `browser` with a login token and waits for the page's TURN credentials. */
  async signIn(browser: Browser, userId: string, appId: string, mode: 'relay' | 'mesh' = 'relay'): Promise<Page> {
    // Like a user who clicked through the self-signed certificate warning.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'] })
    const page = await context.newPage()
    await openApp(page, `${this.relay.url}/`)
    await page.getByTestId('signin-user').fill(userId)
    await page.getByTestId('signin-app').fill(appId)
    await page.getByTestId('signin-mode').selectOption(mode)
    await page.getByTestId('signin-token').fill(await this.token(userId, appId))
    const served = page.waitForResponse((response) => response.url().includes('/ice-servers?'))
    await page.getByTestId('signin-submit').click()
    const answer = await served
    expect(answer.status()).toBe(200)
    expect((await answer.json() as { iceServers: { username?: string }[] }).iceServers.map((server) => server.username)).toEqual([expect.stringMatching(new RegExp(`^\\d+:${userId}$`))])
    await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
    return page
  }

  /** Signs in and opens the Calls panel, registered. */
  async openCalls(browser: Browser, userId: string, appId: string): Promise<Page> {
    const page = await this.signIn(browser, userId, appId)
    await page.getByTestId('tab-calls').click()
    await page.getByTestId('calls-my-sid').filter({ hasText: userId }).waitFor()
    return page
  }

  /** Every step runs even if one fails (browsers before their namespaces); the first failure is reported. */
  async stop(): Promise<void> {
    const failures: unknown[] = []
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error))
    if (failures.length > 0) throw failures[0]
  }

  private async open(options: TurnWorldOptions): Promise<void> {
    // A namespace forwards nothing unless told to: the browsers' namespaces meet only here.
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('0')
    const coturn = await Coturn.start({ address: TURN_WORLD_ADDRESS, secret: TURN_SECRET })
    this.cleanups.push(() => coturn.stop())
    const turnUrl = options.turnUrl ? await options.turnUrl(coturn) : coturn.url
    const certDir = mkdtempSync(join(tmpdir(), 'turn-world-cert-'))
    this.cleanups.push(async () => rmSync(certDir, { recursive: true, force: true }))
    const tls = await selfSignedCertificate(certDir, [TURN_WORLD_ADDRESS])
    const relay = await startRelay({
      port: 0, host: TURN_WORLD_ADDRESS, tls, staticDir: 'dist', tokenSecret: TOKEN_SECRET, logger: pino({ level: 'silent' }),
      ice: { servers: [], turn: { secret: TURN_SECRET, urls: [turnUrl], ttlSeconds: 600 } },
    })
    this.relayRef = relay
    this.cleanups.push(() => relay.close())
    for (const [name, subnet] of options.namespaces) {
      const namespace = await BrowserNamespace.create(name, subnet)
      this.namespaces.push(namespace)
      this.cleanups.push(() => namespace.destroy())
      const browser = await chromium.launch({ executablePath: namespace.executablePath, args: CHROMIUM_ARGS })
      this.browsers.push(browser)
      this.cleanups.push(() => browser.close())
    }
  }
}
