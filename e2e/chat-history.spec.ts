import type { Browser, Page } from '@playwright/test'
import { RTM } from '../src/sdk'
import { expectAxeClean } from './axe'
import { joinChannel, messages, messageTexts, openDirect, person, send, signInAs } from './chat-page'
import { expect, test } from './fixtures'

/**
 * Chat with message history (issue 16): what was said before you came, older pages on
 * request, what you missed while your link was down, and direct messages kept for someone away.
 */

/** Messages a conversation shows when it opens, and per "Load earlier messages" (HISTORY_PAGE in src/ui/state/thread.svelte.ts). */
const PAGE = 50

/** Names of this run: the worker's relay is shared with other specs, and keeps history. */
const tag = Date.now().toString(36)
const unique = (name: string) => `${name}-${tag}`
/** Where axe looks: the Chat panel (e2e/ui-quality.spec.ts checks the whole page). */
const CHAT = '[data-testid="chat-panel"]'

async function signIn(browser: Browser, relayUrl: string, userId: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  return signInAs(page, relayUrl, userId)
}

test.describe('chat history', () => {
  test('joining after others talked shows the recent messages; Load earlier pages back to the beginning, from the keyboard', async ({ browser, relayUrl }) => {
    const channel = unique('book-club')
    // Someone talked before we came: 60 messages, stored, from a client of the SDK.
    const ann = new RTM('demo', unique('ann'), { url: relayUrl })
    await ann.login()
    // At once (within the publish burst); one socket keeps them in order.
    await Promise.all(Array.from({ length: PAGE + 10 }, (_, i) => ann.publish(channel, `chapter ${i + 1}`, { storeInHistory: true })))

    const bea = await signIn(browser, relayUrl, unique('bea'))
    await joinChannel(bea, channel)
    await expect(messages(bea).last()).toContainText(`chapter ${PAGE + 10}`)
    expect(await messageTexts(bea)).toEqual(Array.from({ length: PAGE }, (_, i) => `chapter ${i + 11}`))
    const earlier = bea.getByTestId('history-load-earlier')
    await expect(earlier).toHaveText('Load earlier messages')

    // Loading the older page leaves the messages on screen where they were.
    const list = bea.getByTestId('message-list')
    await list.evaluate((element) => { element.scrollTop = 0 })
    const oldest = messages(bea).filter({ hasText: /^.*chapter 11$/ })
    const before = (await oldest.boundingBox())!.y
    await earlier.focus()
    await bea.keyboard.press('Enter')
    await expect(bea.getByTestId('history-start')).toHaveText('Beginning of the conversation')
    expect(await messageTexts(bea)).toEqual(Array.from({ length: PAGE + 10 }, (_, i) => `chapter ${i + 1}`))
    expect(Math.abs((await oldest.boundingBox())!.y - before)).toBeLessThan(2)
    // The button is gone: focus is on the list, not lost, and a screen reader hears what came.
    await expect(earlier).toHaveCount(0)
    await expect(list).toBeFocused()
    await expect(bea.getByTestId('history-status')).toHaveText('10 earlier messages loaded. This is the beginning of the conversation.')

    // A new message shows once, after the others.
    await ann.publish(channel, 'next week: chapter 61', { storeInHistory: true })
    await expect(messages(bea).last()).toContainText('next week: chapter 61')
    expect(await messages(bea).count()).toBe(PAGE + 11)
    await expectAxeClean(bea, [CHAT])
    ann.release()
    await bea.context().close()
  })

  test('a user whose link dropped sees what was said meanwhile, in order, after a "while you were away" marker', async ({ browser, relayUrl }) => {
    const channel = unique('standup')
    const [cy, dee] = [await signIn(browser, relayUrl, unique('cy')), await signIn(browser, relayUrl, unique('dee'))]
    for (const page of [cy, dee]) await joinChannel(page, channel)
    await send(cy, 'morning all')
    await expect(messages(dee).filter({ hasText: 'morning all' })).toBeVisible()

    await dee.context().setOffline(true)
    await expect(dee.getByTestId('people').getByTestId('presence-offline')).toBeVisible()
    for (const text of ['build is green', 'deploying at ten', 'shout if that is a problem']) await send(cy, text)
    await expect(messages(cy).last()).toContainText('shout if that is a problem')
    await dee.context().setOffline(false)

    const marker = dee.getByTestId('away-marker')
    await expect(marker).toHaveText('3 messages while you were away', { timeout: 20_000 })
    await expect(dee.getByTestId('away-lost')).toHaveCount(0)
    expect(await messageTexts(dee)).toEqual(['morning all', 'build is green', 'deploying at ten', 'shout if that is a problem'])
    // The marker stands just before the first message missed.
    await expect(marker.locator('xpath=following-sibling::li[1]')).toContainText('build is green')
    await expect(marker.locator('xpath=preceding-sibling::li[1]')).toContainText('morning all')

    await send(cy, 'thanks')
    await expect(messages(dee).last()).toContainText('thanks')
    await expectAxeClean(dee, [CHAT])
    await cy.context().close()
    await dee.context().close()
  })

  test('a direct message to someone away waits for them and shows when they open the conversation', async ({ browser, relayUrl }) => {
    const [eli, fay] = [unique('eli'), unique('fay')]
    const sender = await signIn(browser, relayUrl, eli)
    await openDirect(sender, fay)
    await send(sender, 'call me when you are in')
    // Kept for them: shown as sent, no error.
    await expect(messages(sender).filter({ hasText: 'call me when you are in' })).toHaveAttribute('data-publisher', eli)
    await expect(sender.getByTestId('outbox-message')).toHaveCount(0)
    await expect(sender.getByTestId('conversation-error')).toHaveCount(0)

    const receiver = await signIn(browser, relayUrl, fay)
    await expect(person(receiver, eli)).toBeVisible()
    await receiver.locator(`[data-testid="dm-item"][data-peer="${eli}"]`).click()
    await expect(receiver.getByTestId('conversation-title')).toHaveText(`@${eli}`)
    await expect(messages(receiver)).toHaveText([/call me when you are in/])
    await expect(messages(receiver).first()).toHaveAttribute('data-publisher', eli)
    await expect(receiver.getByTestId('history-start')).toBeVisible()
    await send(receiver, 'in now')
    await expect(messages(sender).filter({ hasText: 'in now' })).toHaveAttribute('data-publisher', fay)
    await sender.context().close()
    await receiver.context().close()
  })
})
