// Labels people can trust, in Chromium (browser mode): an old answer changed from the history
// panel by keyboard (a relabel in the log, the head refitted), the stop advice once the answers
// agree, and a deliberately wrong answer asked again in the normal queue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadMnist } from '../../src/main/data/mnist'
import { readSessionLog } from '../../src/main/session/log'
import { CHROMIUM, startSession, startStudio, Studio } from './harness'

const haveChromium = existsSync(CHROMIUM)
const shots = resolve(__dirname, process.env.CURATOR_DOCS_SCREENSHOTS === '1' ? '../../docs' : '../../test-results')

describe.skipIf(!haveChromium)('labels people can trust, in Chromium', () => {
  let s: Studio
  beforeAll(async () => {
    s = await startStudio()
  })
  afterAll(async () => {
    await s?.stop()
  })

  it('changes an old answer from the history panel by keyboard, shows the stop advice, and asks a contradicted answer again', async () => {
    const page = s.page
    await page.goto(s.url)
    await startSession(page, { poolLimit: 3000, testLimit: 1000 })
    const digits = loadMnist({ pool: 3000, test: 1 }).pool.classes!
    const truth = (id: number) => digits[id] % 2
    const key = (value: number) => (value === 1 ? 'o' : 'e')
    const iteration = () => page.getByTestId('status-iteration').textContent()
    const active = async () => Number(await page.locator('[data-testid="query-image"][data-active="true"]').getAttribute('data-id'))
    /** Answers the batch on screen (`wrong`: the ids to answer wrongly), then waits for the next fit. */
    const answerBatch = async (wrong: number[] = []) => {
      const before = Number(await iteration())
      const asked: { id: number; check: string | null }[] = []
      for (let k = 0; k < 4; k++) {
        const tile = page.locator('[data-testid="query-image"][data-active="true"]')
        const id = Number(await tile.getAttribute('data-id'))
        asked.push({ id, check: await tile.getAttribute('data-check') })
        await page.keyboard.press(key(wrong.includes(id) ? 1 - truth(id) : truth(id)))
      }
      await expect.poll(iteration, { timeout: 30_000 }).toBe(String(before + 1))
      return asked
    }

    const first = await answerBatch()
    await answerBatch()
    await answerBatch()

    // The history panel: newest first, by keyboard. The oldest answer, changed in place.
    await page.keyboard.press('h')
    await page.getByTestId('history').waitFor()
    const rows = page.getByTestId('history-row')
    await expect.poll(() => rows.count()).toBe(12)
    expect(await page.getByTestId('history-name').first().textContent()).toMatch(/^image #\d+$/)
    await page.keyboard.press('End')
    const oldest = rows.last()
    expect(Number(await oldest.getAttribute('data-id'))).toBe(first[0].id)
    expect(await oldest.getAttribute('aria-current')).toBe('true')
    const was = truth(first[0].id)
    await page.keyboard.press(key(1 - was))
    await expect.poll(() => oldest.getAttribute('data-answer')).toBe(String(1 - was))
    await oldest.getByTestId('history-changed').waitFor()
    // The filter by answer, cycled by keyboard (F): all, in doubt, positive, negative.
    await page.keyboard.press('f')
    await page.keyboard.press('f')
    await expect.poll(() => page.getByTestId('history-filter-positive').getAttribute('aria-pressed')).toBe('true')
    const positives = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-answer')))
    expect(positives.length).toBeGreaterThan(0)
    expect(positives.every((a) => a === '1')).toBe(true)
    await page.keyboard.press('f')
    await page.keyboard.press('f')
    // Back to all, the same image: change it back (the labeller looked again).
    await page.keyboard.press('End')
    await page.keyboard.press(key(was))
    await expect.poll(() => rows.last().getAttribute('data-answer')).toBe(String(was))
    await page.screenshot({ path: join(shots, 'history.png') })
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByTestId('history').count()).toBe(0)
    const log = (await readSessionLog(join(s.dataDir, 'sessions', readdirSync(join(s.dataDir, 'sessions'))[0]))).events
    expect(log.filter((e) => e.type === 'relabel').map((e) => (e as { id: number; value: number }).value)).toEqual([1 - was, was])

    // Careful answers until the studio says more answers are unlikely to help.
    for (let b = 0; b < 8 && (await page.getByTestId('advice').getAttribute('data-stop')) !== 'true'; b++) await answerBatch()
    expect(await page.getByTestId('advice').getAttribute('data-stop')).toBe('true')
    expect(await page.getByTestId('advice').textContent()).toMatch(/^\s*You can stop: the last batch changed at most/)
    await page.screenshot({ path: join(shots, 'stop-advice.png') })

    // One answer given wrong on purpose: the others contradict it, so it is asked again,
    // in the normal queue, guess hidden.
    const wrongId = await active()
    await answerBatch([wrongId])
    let again: { id: number; check: string | null }[] = []
    for (let b = 0; b < 3 && !again.some((a) => a.id === wrongId); b++) {
      const tile = page.locator(`[data-testid="query-image"][data-id="${wrongId}"]`)
      if (await tile.count()) {
        expect(await tile.getAttribute('data-check')).toBe('reask')
        await tile.getByTestId('reask-badge').waitFor()
        expect(await tile.getByTestId('guess').count()).toBe(0)
        expect(Number(await page.getByTestId('status-suspects').textContent())).toBeGreaterThan(0)
        await page.screenshot({ path: join(shots, 'reask.png') })
      }
      again = await answerBatch()
    }
    expect(again.find((a) => a.id === wrongId)?.check).toBe('reask')
    // Answered right this time: the new answer stands.
    await page.keyboard.press('h')
    await page.getByTestId('history').waitFor()
    const row = page.locator(`[data-testid="history-row"][data-id="${wrongId}"]`)
    expect(await row.getAttribute('data-answer')).toBe(String(truth(wrongId)))
    expect(await row.textContent()).toContain('answered 2×')
    await page.keyboard.press('Escape')
  })
})
