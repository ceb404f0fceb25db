// A newcomer's walkthrough, keyboard first, in Chromium: no console errors, `?` everywhere, focus
// on the field to fix, clicks that leave no focused button behind, guesses that read one way,
// charts with text summaries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { CHROMIUM, startSession, startStudio, Studio } from './harness'
import { contrastFailures } from './contrast'

const haveChromium = existsSync(CHROMIUM)

describe.skipIf(!haveChromium)('walkthrough in Chromium', () => {
  let s: Studio
  const consoleErrors: string[] = []
  const failedRequests: string[] = []
  beforeAll(async () => {
    s = await startStudio()
    s.page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
    s.page.on('response', (r) => r.status() >= 400 && failedRequests.push(`${r.status()} ${r.url()}`))
  })
  afterAll(async () => {
    await s?.stop()
  })

  it('loads with no console error and no failed request (the favicon included)', async () => {
    const page = s.page
    await page.goto(s.url)
    await page.getByTestId('base-info').waitFor()
    await page.waitForTimeout(500)
    const icon = await page.locator('link[rel="icon"]').getAttribute('href')
    expect(icon).toBeTruthy()
    expect((await page.request.get(new URL(icon!, s.url).href)).status()).toBe(200)
    expect(failedRequests).toEqual([])
    expect(consoleErrors).toEqual([])
  })

  it('`?` opens the shortcuts on the start screen; Esc closes them; typed into a field it is text', async () => {
    const page = s.page
    await page.locator('body').click({ position: { x: 5, y: 5 } })
    await page.keyboard.press('?')
    await expect.poll(() => page.getByRole('dialog').count()).toBe(1)
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0)
    await page.getByTestId('field-question').fill('Is it?')
    await page.getByTestId('field-question').press('?')
    expect(await page.getByRole('dialog').count()).toBe(0)
    expect(await page.getByTestId('field-question').inputValue()).toBe('Is it??')
  })

  it('a refused Start moves focus to the first invalid field, inside Advanced too', async () => {
    const page = s.page
    await page.getByTestId('field-question').fill('')
    await page.getByTestId('btn-start').click()
    await expect.poll(() => page.evaluate('document.activeElement?.getAttribute("data-testid")')).toBe('field-question')
    await page.getByTestId('field-question').fill('Is this digit odd?')
    await page.locator('details.advanced summary').click()
    await page.getByTestId('field-pool-limit').fill('-3')
    await page.locator('details.advanced summary').click() // closed again
    await page.getByTestId('btn-start').click()
    await expect.poll(() => page.evaluate('document.activeElement?.getAttribute("data-testid")')).toBe('field-pool-limit')
    expect(await page.locator('details.advanced').getAttribute('open')).not.toBeNull()
  })

  it('clicking an answer leaves no focused button: Space and Enter do not answer again', async () => {
    const page = s.page
    await page.goto(s.url)
    await startSession(page, { poolLimit: 2000, testLimit: 500 })
    await page.getByTestId('btn-positive').click()
    await expect.poll(() => page.getByTestId('status-labels').textContent()).toBe('1')
    expect(await page.evaluate('document.activeElement?.tagName')).not.toBe('BUTTON')
    await page.keyboard.press('Space')
    await page.keyboard.press('Enter')
    await page.getByTestId('btn-skip').click()
    await page.keyboard.press('Enter')
    await page.waitForTimeout(300)
    expect(await page.getByTestId('status-labels').textContent()).toBe('1')
    expect(await page.locator('[data-testid="query-image"][data-answer]:not([data-answer=""])').count()).toBe(2)
  })

  it('a reload mid-batch keeps the answered tiles, with their badges', async () => {
    const page = s.page
    const answered = () => page.locator('[data-testid="query-image"][data-answer]:not([data-answer=""])')
    const before = await answered().evaluateAll((els) => els.map((e) => [e.getAttribute('data-id'), e.getAttribute('data-answer')]))
    await page.reload()
    await page.getByTestId('view-label').waitFor()
    await page.getByTestId('query-image').first().waitFor()
    expect(await answered().evaluateAll((els) => els.map((e) => [e.getAttribute('data-id'), e.getAttribute('data-answer')]))).toEqual(
      before
    )
    expect(await page.locator('.answer-chip').allTextContents()).toEqual(['odd', 'skipped'])
    expect(await page.locator('[data-testid="query-image"][data-active="true"]').count()).toBe(1)
  })

  it('guesses read one way: the digits shown sit on the side of 0.5 the answer names', async () => {
    const page = s.page
    for (const k of ['o', 'e']) await page.keyboard.press(k) // completes the batch: the model trains
    await expect.poll(() => page.getByTestId('status-iteration').textContent(), { timeout: 30_000 }).toBe('1')
    await page.keyboard.press('g')
    const texts = await page.getByTestId('guess').allTextContents()
    expect(texts.length).toBeGreaterThan(0)
    for (const t of texts) {
      const m = /P\(odd\) ([\d.]+) · (odd|even)/.exec(t)!
      expect(m, t).not.toBeNull()
      expect(Number(m[1]) >= 0.5 ? 'odd' : 'even', t).toBe(m[2])
      if (Number(m[1]) === 0.5) expect(m[2]).toBe('odd')
    }
    await page.keyboard.press('g')
  })

  it('each chart carries a text summary of what it shows', async () => {
    const page = s.page
    const summaries = await page.getByTestId('chart-summary').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''))
    expect(summaries).toHaveLength(3)
    expect(summaries[0]).toMatch(/^Held-out accuracy \d+\.\d% after 3 labels \(\d+\.\d% at 0 labels/)
    expect(summaries[1]).toMatch(/^Head weights: positive .*; negative .*; bias [−+]\d\.\d\d\.$/)
    expect(summaries[2]).toMatch(/^P\(odd\) over 2,000 images: /)
  })

  it('the export dialog names its real default folder; the replay GIF shows its folder and downloads', async () => {
    const page = s.page
    await page.getByTestId('btn-export').click()
    const placeholder = await page.getByTestId('field-export-path').getAttribute('placeholder')
    expect(placeholder).toMatch(new RegExp(`^default: ${s.dataDir}/exports/\\d{8}T\\d{6}-[0-9a-f]+$`))
    await page.keyboard.press('Escape')
    await page.getByTestId('btn-replay').click()
    await page.getByTestId('btn-export-gif').click()
    await page.getByTestId('gif-result').waitFor()
    const path = await page.getByTestId('gif-path').textContent()
    expect(path).toMatch(new RegExp(`^${s.dataDir}/sessions/[^/]+/session\\.gif$`))
    const href = await page.getByTestId('gif-download').getAttribute('href')
    const r = await page.request.get(new URL(href!, s.url).href)
    expect(r.status()).toBe(200)
    expect((await r.body()).subarray(0, 6).toString('latin1')).toBe('GIF89a')
    expect((await page.request.get(new URL(href!.replace(/token=[^&]+/, 'token=wrong'), s.url).href)).status()).toBe(403)
    await page.getByTestId('btn-replay-back').click()
  })

  it('the contrast check finds low-contrast text (it can fail)', async () => {
    const page = s.page
    await page.evaluate(`(() => {
      const d = document.createElement('div')
      d.textContent = 'barely visible'
      d.style.cssText = 'position:fixed;top:0;left:0;color:#aaa;background:#fff;font-size:12px'
      document.body.appendChild(d)
    })()`)
    const r = await contrastFailures(page)
    expect(r.failures.map((f) => f.text)).toContain('barely visible')
    expect(r.failures.find((f) => f.text === 'barely visible')!.ratio).toBeCloseTo(2.32, 1)
  })
})
