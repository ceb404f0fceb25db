// A tab whose server goes away, in Chromium against a real `curator serve`: killed with SIGKILL
// mid-session, the tab says so, takes no answer and never shows one as saved; started again on
// the same data folder, the server comes back at the same address (port and token kept,
// owner-only) and the tab reconnects by itself, showing exactly what the log holds; started at
// another address, the tab says how to get back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { readSessionLog } from '../../src/main/session/log'
import { derive } from '../../src/main/session/derive'
import { ADDRESS_FILE } from '../../src/main/server/address'
import { CHROMIUM, openBrowser, Served, startServe, startSession } from './harness'

const haveChromium = existsSync(CHROMIUM)

describe.skipIf(!haveChromium)('a tab whose server is killed (browser mode, Chromium)', () => {
  let dataDir: string
  let served: Served
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'curator-e2e-disconnect-'))
    served = await startServe(dataDir, []) // no --port: the data folder's address
    ;({ browser, page } = await openBrowser())
  })
  afterAll(async () => {
    await browser?.close()
    await served?.stop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('takes no answer while the server is gone, says so, and after it is back shows exactly the log', async () => {
    const first = served.url
    await page.goto(first)
    await startSession(page, { poolLimit: 600, testLimit: 200 })
    const sync = page.getByTestId('status-sync')
    const labels = page.getByTestId('status-labels')
    const answered = () => page.locator('[data-testid="query-image"]:not([data-answer=""])').count()
    const logged = async () => {
      const [id] = readdirSync(join(dataDir, 'sessions'))
      const d = derive((await readSessionLog(join(dataDir, 'sessions', id))).events)
      return { total: d.done.flatMap((b) => b.answers).length + (d.current?.answers.length ?? 0), current: d.current?.answers.length ?? 0 }
    }
    for (const k of ['o', 'e']) await page.keyboard.press(k)
    await expect.poll(() => sync.textContent(), { timeout: 20_000 }).toBe('yes')
    // 'yes' shows while a save is quick; killed before its answer arrives, an answer is taken back.
    await expect.poll(() => sync.getAttribute('data-in-flight'), { timeout: 20_000 }).toBe('0')
    expect(await labels.textContent()).toBe('2')
    expect(await logged()).toEqual({ total: 2, current: 2 })
    // The address is kept for the next server on this data folder, readable by its owner only.
    expect(statSync(join(dataDir, ADDRESS_FILE)).mode & 0o777).toBe(0o600)

    await served.stop('SIGKILL')
    await page.getByTestId('connection').waitFor({ timeout: 20_000 })
    expect(await sync.textContent()).toBe('offline')
    for (const k of ['o', 'o', 'e', 's']) await page.keyboard.press(k)
    expect(await labels.textContent()).toBe('2')
    expect(await answered()).toBe(2)
    expect(await page.getByTestId('btn-negative').isDisabled()).toBe(true)
    // Still gone after a few tries: the tab says how to get back.
    const gone = page.locator('[data-testid="connection"][data-state="gone"]')
    await gone.waitFor({ timeout: 20_000 })
    expect(await gone.textContent()).toMatch(/Start curator serve again with the same data folder: it comes back at this address/)
    expect(await sync.textContent()).toBe('offline')
    expect(await logged()).toEqual({ total: 2, current: 2 })

    // Started again on the same data folder: the same address, and the tab comes back by itself.
    served = await startServe(dataDir, [])
    expect(served.url).toBe(first)
    await page.getByTestId('connection').waitFor({ state: 'detached', timeout: 60_000 })
    await expect.poll(() => sync.textContent(), { timeout: 60_000 }).toBe('yes')
    expect(await labels.textContent()).toBe('2')
    expect(await answered()).toBe((await logged()).current)
    // Answers are taken again once the session the studio reopened is on screen (not before:
    // that state would wipe an answer given meanwhile off the screen).
    await expect.poll(() => page.getByTestId('btn-positive').isEnabled(), { timeout: 60_000 }).toBe(true)
    await page.keyboard.press('o')
    await expect.poll(async () => (await logged()).total, { timeout: 20_000 }).toBe(3)
    await expect.poll(() => sync.textContent(), { timeout: 20_000 }).toBe('yes')
    expect(await labels.textContent()).toBe('3')

    // Started at another address (--port 0): this tab cannot follow, and says what to open instead.
    await served.stop('SIGKILL')
    served = await startServe(dataDir, ['--port', '0'])
    expect(served.url).not.toBe(first)
    await gone.waitFor({ timeout: 20_000 })
    expect(await gone.textContent()).toMatch(/If it prints another address \(…\/\?token=…\), open that one/)
    expect(await labels.textContent()).toBe('3')
  }, 240_000)
})
