// What a newcomer sees at 1024x700 and 1280x800, light and dark: everything needed is in view,
// the answer buttons are the big ones, the charts have room, and all text passes WCAG AA
// contrast (an axe-style computation). Screenshots go to test-results/.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { CHROMIUM, startSession, startStudio, Studio } from './harness'
import { contrastFailures } from './contrast'

const haveChromium = existsSync(CHROMIUM)
const shots = resolve(__dirname, '../../test-results')

async function expectContrast(page: Page, what: string): Promise<void> {
  const r = await contrastFailures(page)
  expect(r.checked, `${what}: text elements checked`).toBeGreaterThan(10)
  expect(r.failures, `${what}: text below AA contrast`).toEqual([])
}

const box = async (page: Page, testId: string) => (await page.getByTestId(testId).first().boundingBox())!

// In the page (a string: these tests are typed without the DOM): each tile scrolled into view
// in turn, the tiles and caption parts not wholly inside the card or cut off inside themselves,
// and how much wider than the card its content is.
const CLIPPED_TILES = `(() => {
  const card = document.querySelector('[data-testid="view-label"] .batch-wrap')
  const clipped = []
  const tiles = [...document.querySelectorAll('[data-testid="query-image"]')]
  tiles.forEach((tile, i) => {
    tile.scrollIntoView({ block: 'nearest', inline: 'nearest' })
    const c = card.getBoundingClientRect()
    const inside = (e) => {
      const b = e.getBoundingClientRect()
      return b.left >= c.left && b.right <= c.right && b.top >= c.top && b.bottom <= c.bottom
    }
    const caption = tile.querySelector('.tile-caption')
    if (!inside(tile)) clipped.push('tile ' + (i + 1))
    for (const part of [caption, ...caption.querySelectorAll('*')])
      if (!inside(part) || part.scrollWidth > part.clientWidth + 1) clipped.push('tile ' + (i + 1) + ' caption ' + part.className)
  })
  tiles[0].scrollIntoView()
  return { clipped, across: card.scrollWidth - card.clientWidth, checked: tiles.length }
})()`

describe.skipIf(!haveChromium)('layout and contrast in Chromium', () => {
  let s: Studio
  beforeAll(() => mkdirSync(shots, { recursive: true }))
  // A studio each: a reload of one with an open session shows that session, not the start screen.
  beforeEach(async () => {
    s = await startStudio()
  })
  afterEach(async () => {
    await s?.stop()
  })

  for (const [width, height] of [
    [1280, 800],
    [1024, 700]
  ]) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`${width}x${height} ${scheme}: start and labelling views fit, answer buttons lead, charts have room, contrast passes`, async () => {
        const page = s.page
        await page.setViewportSize({ width, height })
        await page.emulateMedia({ colorScheme: scheme })
        await page.goto(s.url)
        await page.getByTestId('view-start').waitFor()
        await page.getByTestId('base-info').waitFor()
        // Start is in view without scrolling.
        const start = await box(page, 'btn-start')
        expect(start.y + start.height).toBeLessThanOrEqual(height)
        await page.screenshot({ path: join(shots, `start-${width}x${height}-${scheme}.png`) })
        await expectContrast(page, `start ${width}x${height} ${scheme}`)

        await startSession(page, { poolLimit: 2000, testLimit: 500 })
        await page.keyboard.press('o') // one answered tile with its badge
        await page.getByTestId('btn-guess').click() // guesses shown: their text is checked too
        await page.waitForTimeout(300)
        await page.screenshot({ path: join(shots, `label-${width}x${height}-${scheme}.png`) })
        const negative = await box(page, 'btn-negative')
        const positive = await box(page, 'btn-positive')
        for (const id of ['btn-skip', 'btn-undo', 'btn-guess']) {
          const other = await box(page, id)
          expect(negative.width, `answer button vs ${id}`).toBeGreaterThan(other.width)
          expect(positive.width, `answer button vs ${id}`).toBeGreaterThan(other.width)
        }
        for (const id of ['btn-negative', 'btn-positive']) {
          const b = await box(page, id)
          expect(b.y + b.height, `${id} in view`).toBeLessThanOrEqual(height)
          // The answer's name is whole, not cut off at the button's edge.
          const cut = await page.getByTestId(id).evaluate((e) => e.scrollWidth - e.clientWidth)
          expect(cut, `${id}: text wider than the button by`).toBeLessThanOrEqual(0)
        }
        for (const chart of ['chart-accuracy', 'chart-weights', 'chart-histogram']) {
          const c = (await page.getByTestId(chart).locator('canvas').boundingBox())!
          expect(c.height, `${chart} canvas height`).toBeGreaterThanOrEqual(90)
        }
        await expectContrast(page, `labelling ${width}x${height} ${scheme}`)
        await page.getByTestId('btn-guess').click()

        // Replay with the GIF written: the notice must not squeeze the charts or clip a title.
        await page.getByTestId('btn-replay').click()
        await page.getByTestId('btn-export-gif').click()
        await page.getByTestId('gif-result').waitFor()
        await page.waitForTimeout(300)
        await page.screenshot({ path: join(shots, `replay-${width}x${height}-${scheme}.png`) })
        for (const chart of ['chart-accuracy', 'chart-weights', 'chart-histogram']) {
          const c = (await page.getByTestId(chart).locator('canvas').boundingBox())!
          expect(c.height, `replay ${chart} canvas height`).toBeGreaterThanOrEqual(90)
          const title = page.getByTestId(chart).locator('.chart-title')
          const clipped = await title.evaluate((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
          expect(clipped, `${chart} title clipped`).toBe(false)
        }
        const gif = await box(page, 'gif-result')
        expect(gif.y + gif.height).toBeLessThanOrEqual(height)
        await expectContrast(page, `replay ${width}x${height} ${scheme}`)
      })
    }
  }

  // 64 tiles at the minimum box: the grid wraps to the card's width (a taller one scrolls down),
  // each tile and its caption wholly inside the card, and the tile whose turn it is in view.
  it('batch 64 at 1440x900 and 1024x700: no tile or caption clipped, the grid fits its card', async () => {
    const page = s.page
    await page.goto(s.url)
    await startSession(page, { poolLimit: 2000, testLimit: 300, batchSize: 64 })
    for (const k of ['o', 'e', 'o']) await page.keyboard.press(k)
    await page.getByTestId('btn-guess').click() // guesses shown: the longest captions
    for (const [width, height] of [
      [1440, 900],
      [1024, 700]
    ]) {
      await page.setViewportSize({ width, height })
      await expect.poll(() => page.locator('[data-testid="query-image"]').count()).toBe(64)
      await page.waitForTimeout(300)
      await page.screenshot({ path: join(shots, `label-batch64-${width}x${height}.png`) })
      const r = (await page.evaluate(CLIPPED_TILES)) as { clipped: string[]; across: number; checked: number }
      expect(r.checked).toBe(64)
      expect(r.clipped, `${width}x${height}: clipped`).toEqual([])
      expect(r.across, `${width}x${height}: the grid is wider than its card by`).toBeLessThanOrEqual(0)
    }
    // Answering down the batch brings the tile whose turn it is into view.
    await page.getByTestId('btn-guess').click()
    const answered = page.locator('[data-testid="query-image"]:not([data-answer=""])')
    for (let n = 4; n <= 40; n++) {
      await page.keyboard.press(n % 2 ? 'o' : 'e')
      await expect.poll(() => answered.count()).toBe(n)
    }
    const active = (await page.locator('[data-testid="query-image"][data-active="true"]').boundingBox())!
    const card = (await page.locator('[data-testid="view-label"] .batch-wrap').boundingBox())!
    expect(active.y, 'the active tile (41) is in view').toBeGreaterThanOrEqual(card.y)
    expect(active.y + active.height, 'the active tile (41) is in view').toBeLessThanOrEqual(card.y + card.height)
  })
})
