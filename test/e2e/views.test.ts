// The views beside labelling, in Chromium: the random baseline on the accuracy chart, the pool
// browser answered by keyboard (chosen queries in the log), the mistakes view opened from a
// cell, and why an answered image was asked. Screenshots (these views, the start screen and the
// labelling view) go to test-results/, or to docs/ for the README with CURATOR_DOCS_SCREENSHOTS=1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadMnist } from '../../src/main/data/mnist'
import { readSessionLog } from '../../src/main/session/log'
import { CHROMIUM, startSession, startStudio, Studio } from './harness'

const haveChromium = existsSync(CHROMIUM)
const docs = resolve(__dirname, process.env.CURATOR_DOCS_SCREENSHOTS === '1' ? '../../docs' : '../../test-results')

describe.skipIf(!haveChromium)('views in Chromium (browser mode)', () => {
  let s: Studio
  beforeAll(async () => {
    s = await startStudio()
  })
  afterAll(async () => {
    await s?.stop()
  })

  it('shows the baseline curve, labels two images from the pool browser by keyboard, opens the mistakes view from a cell, and says why an image was asked', async () => {
    const page = s.page
    await page.goto(s.url)
    await page.getByTestId('view-start').waitFor()
    await page.getByTestId('recent-sessions').waitFor()
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(docs, 'start.png') })
    await startSession(page, { poolLimit: 3000, testLimit: 1000 })
    const labels = () => page.getByTestId('status-labels').textContent()
    // Answered truthfully (MNIST's own labels: odd is positive), as a careful labeller would.
    const digits = loadMnist({ pool: 3000, test: 1 }).pool.classes!
    const truthKey = (id: string | null) => (digits[Number(id)] % 2 === 1 ? 'o' : 'e')
    for (let b = 1; b <= 3; b++) {
      for (let k = 0; k < 4; k++)
        await page.keyboard.press(truthKey(await page.locator('[data-testid="query-image"][data-active="true"]').getAttribute('data-id')))
      await expect.poll(labels, { timeout: 30_000 }).toBe(String(4 * b))
      await expect.poll(() => page.getByTestId('status-iteration').textContent(), { timeout: 30_000 }).toBe(String(b))
    }

    // The baseline: a third, dashed line on the accuracy chart, one point per label count.
    const series = async () =>
      JSON.parse((await page.getByTestId('chart-accuracy').getAttribute('data-chart')) ?? '[]') as [number, number][][]
    await expect.poll(async () => (await series())[2]?.map(([x]) => x), { timeout: 30_000 }).toEqual([0, 4, 8, 12])
    const [test, , random] = await series()
    expect(random.every(([, y]) => y > 0 && y <= 1)).toBe(true)
    expect(test.map(([x]) => x)).toEqual([0, 4, 8, 12])
    await expect.poll(() => page.getByTestId('chart-accuracy').textContent()).toMatch(/random \d+\.\d%/)
    await page.locator('[data-testid="charts"][data-current="true"]').waitFor()
    await page.getByTestId('chart-accuracy').screenshot({ path: join(docs, 'baseline.png') })

    // Why this image: the last answer (diverse's third batch covers the last regions; the second
    // covered two and confirmed two lone answers of the first).
    await page.keyboard.press('w')
    await page.getByTestId('why-body').waitFor()
    await expect.poll(() => page.getByTestId('why-position').textContent()).toBe('answer 12 of 12')
    expect(await page.getByTestId('why-reason').getAttribute('data-kind')).toBe('cover')
    expect(await page.getByTestId('why-reason').textContent()).toMatch(/a typical image in a region of the pool no answer covered yet/)
    const near = await page.getByTestId('why-neighbour').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-distance'))))
    expect(near).toHaveLength(5)
    expect(near).toEqual([...near].sort((a, b) => a - b))
    await page.keyboard.press('ArrowLeft')
    await expect.poll(() => page.getByTestId('why-position').textContent()).toBe('answer 11 of 12')
    for (const n of [10, 9, 8]) {
      await page.keyboard.press('ArrowLeft')
      await expect.poll(() => page.getByTestId('why-position').textContent()).toBe(`answer ${n} of 12`)
    }
    expect(await page.getByTestId('why-reason').getAttribute('data-kind')).toBe('confirm')
    expect(await page.getByTestId('why-reason').textContent()).toMatch(
      /a typical image of a region whose answers lead by only 1 for one side/
    )
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByTestId('why-view').count()).toBe(0)

    // The pool browser: two images answered by keyboard.
    await page.keyboard.press('b')
    await page.getByTestId('pool-browser').waitFor()
    await expect.poll(() => page.getByTestId('pool-total').textContent()).toBe('2,988 images')
    await page.locator('[data-testid="pool-tile"][data-index="0"][data-id]:not([data-id=""])').waitFor()
    // Virtualised: a few rows of 3,000 images are in the page.
    expect(await page.getByTestId('pool-tile').count()).toBeLessThan(400)
    await page.keyboard.press('ArrowRight')
    const first = await page.locator('[data-testid="pool-tile"].cursor').getAttribute('data-id')
    await page.keyboard.press(truthKey(first))
    await expect.poll(labels, { timeout: 30_000 }).toBe('13')
    await expect.poll(() => page.getByTestId('pool-total').textContent()).toBe('2,987 images')
    await page.keyboard.press('ArrowDown')
    await page.locator('[data-testid="pool-tile"].cursor[data-id]:not([data-id=""])').waitFor()
    const second = await page.locator('[data-testid="pool-tile"].cursor').getAttribute('data-id')
    await page.keyboard.press(truthKey(second))
    await expect.poll(labels, { timeout: 30_000 }).toBe('14')
    await page.getByTestId('pool-filter').selectOption('all')
    await page.locator('[data-testid="pool-tile"][data-index="0"][data-id]:not([data-id=""])').waitFor()
    await page.waitForTimeout(300)
    await page
      .getByTestId('pool-browser')
      .locator('.dialog')
      .screenshot({ path: join(docs, 'pool-browser.png') })
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByTestId('pool-browser').count()).toBe(0)
    // The labelling view after 14 answers: the README's first picture.
    await page.locator('[data-testid="charts"][data-current="true"]').waitFor()
    await page.waitForTimeout(500)
    await page.screenshot({ path: join(docs, 'screenshot.png') })

    const dir = join(s.dataDir, 'sessions', readdirSync(join(s.dataDir, 'sessions'))[0])
    const { events } = await readSessionLog(dir)
    const chosen = events.filter((e) => e.type === 'query' && e.strategy === 'chosen')
    expect(chosen.map((e) => (e.type === 'query' ? e.ids : []))).toEqual([[Number(first)], [Number(second)]])
    const labelled = events.filter((e) => e.type === 'label').map((e) => (e.type === 'label' ? [e.id, e.value] : []))
    expect(labelled.slice(-2)).toEqual([
      [Number(first), digits[Number(first)] % 2],
      [Number(second), digits[Number(second)] % 2]
    ])

    // The mistakes view, opened from a cell by click and by key.
    await page.getByTestId('btn-mistakes').click()
    await page.getByTestId('confusion').waitFor()
    const counts = await page
      .getByTestId('mistake-cell')
      .evaluateAll((els) => els.map((e) => Number(e.querySelector('strong')!.textContent!.replace(/,/g, ''))))
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1000)
    const wrong = counts[1] >= counts[2] ? 't0p1' : 't1p0'
    await page.locator(`[data-testid="mistake-cell"][data-cell="${wrong}"]`).click()
    const images = page.getByTestId('mistake-image')
    await expect.poll(() => page.getByTestId('mistake-images').getAttribute('data-cell')).toBe(wrong)
    await expect.poll(() => images.count()).toBe(Math.min(120, Math.max(counts[1], counts[2])))
    expect(Math.max(counts[1], counts[2])).toBeGreaterThan(0)
    const ps = (await images.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-p'))))).map((p) => Math.abs(p - 0.5))
    expect(ps).toEqual([...ps].sort((a, b) => b - a))
    await page.waitForTimeout(200)
    await page
      .getByTestId('mistakes-view')
      .locator('.dialog')
      .screenshot({ path: join(docs, 'mistakes.png') })
    await page.keyboard.press('4')
    await expect.poll(() => page.getByTestId('mistake-images').getAttribute('data-cell')).toBe('t1p1')
    await page.keyboard.press('Escape')
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByTestId('mistakes-view').count()).toBe(0)

    // Why this image, offered only once an image is answered: after diverse's cover of the
    // regions, a region that a lone answer stands for is confirmed before it is trusted.
    await expect.poll(() => page.locator('[data-testid="query-image"][data-answer=""]').count()).toBe(4)
    expect(await page.getByTestId('btn-why').count()).toBe(0)
    const asked = await page.locator('[data-testid="query-image"][data-active="true"]').getAttribute('data-id')
    expect(await page.locator('[data-testid="query-image"][data-active="true"]').getAttribute('data-check')).toBe('confirm')
    await page.keyboard.press(truthKey(asked))
    await expect.poll(labels, { timeout: 30_000 }).toBe('15')
    expect(await page.getByTestId('btn-why').count()).toBe(1)
    await page.getByTestId('btn-why').click()
    await expect.poll(() => page.getByTestId('why-body').getAttribute('data-id')).toBe(asked)
    expect(await page.getByTestId('why-reason').getAttribute('data-kind')).toBe('confirm')
    expect(await page.getByTestId('why-reason').textContent()).toMatch(
      /a typical image of a region whose answers lead by only 1 for one side/
    )
    await page.waitForTimeout(200)
    await page
      .getByTestId('why-view')
      .locator('.dialog')
      .screenshot({ path: join(docs, 'why.png') })
    // The chosen images say so.
    await page.keyboard.press('ArrowLeft')
    await expect.poll(() => page.getByTestId('why-body').getAttribute('data-id')).toBe(second)
    expect(await page.getByTestId('why-reason').textContent()).toMatch(/you chose it in the pool browser/)
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByTestId('why-view').count()).toBe(0)
  }, 300_000)
})
