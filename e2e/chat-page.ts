import { expect, type BrowserContext, type Page } from '@playwright/test'
import { openApp } from './open-app'

/**
 * The chat page as a user drives it: sign in, see who is online, send and read messages,
 * open tabs in tabs mode. Shared by the chat, hosting and static e2e (e2e/calls-page.ts does
 * the same for the Calls panel).
 */

/**
 * Signs `userId` in on `page` at the app at `baseUrl` (no trailing slash): through the sign-in
 * form, or with `?user=` (plus `query`, e.g. `&mode=mesh`). Waits until the link is CONNECTED.
 */
export async function signInAs<P extends Page>(page: P, baseUrl: string, userId: string, how: { viaForm?: boolean; query?: string } = {}): Promise<P> {
  if (how.viaForm) {
    await openApp(page, `${baseUrl}/`)
    await page.getByTestId('signin-user').fill(userId)
    await page.getByTestId('signin-submit').click()
    await expectConnected(page)
  } else {
    await openApp(page, `${baseUrl}/?user=${encodeURIComponent(userId)}${how.query ?? ''}`, () => expectConnected(page))
  }
  return page
}

function expectConnected(page: Page): Promise<void> {
  return expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
}

/** `userId`'s entry in the page's online list. */
export const person = (page: Page, userId: string) => page.getByTestId('online-user').and(page.locator(`[data-user="${userId}"]`))

/** The messages of the conversation on screen. */
export const messages = (page: Page) => page.getByTestId('conversation').getByTestId('message')

/** Types `text` into the composer and sends it. */
export async function send(page: Page, text: string) {
  await page.getByTestId('composer-input').fill(text)
  await page.getByTestId('composer-send').click()
}

/**
 * Opens a tab of `context` for each of `users`, in order, at `urlOf(user)` (a tabs-mode URL):
 * each is CONNECTED in tabs mode, the first tab coordinates and the others name it.
 */
export async function openCoordinatedTabs(context: BrowserContext, users: string[], urlOf: (user: string) => string): Promise<Page[]> {
  const pages: Page[] = []
  for (const user of users) {
    const page = await context.newPage()
    await page.goto(urlOf(user))
    await expect(page.getByTestId('link-state')).toHaveAttribute('data-state', 'CONNECTED')
    await expect(page.getByTestId('header-mode')).toHaveText('tabs')
    pages.push(page)
  }
  const [first, ...others] = pages
  await expect(first.getByTestId('header-coordinator')).toHaveText(/^this tab \(/)
  const id = (await first.getByTestId('header-coordinator').textContent())!.slice('this tab ('.length, -1)
  for (const page of others) await expect(page.getByTestId('header-coordinator')).toHaveText(`tab ${id}`)
  return pages
}

/** Joins (and opens) channel `name` from the channel list. */
export async function joinChannel(page: Page, name: string) {
  await page.getByTestId('channel-join-input').fill(name)
  await page.getByTestId('channel-join').click()
  await expect(page.getByTestId('conversation-title')).toHaveText(`#${name}`)
}

/** Opens the direct conversation with `peer` by typing their user id. */
export async function openDirect(page: Page, peer: string) {
  await page.getByTestId('dm-peer-input').fill(peer)
  await page.getByTestId('dm-peer-open').click()
  await expect(page.getByTestId('conversation-title')).toHaveText(`@${peer}`)
}

/** The texts of the messages of the conversation on screen, in order. */
export const messageTexts = (page: Page) => messages(page).getByTestId('message-text').allTextContents()
