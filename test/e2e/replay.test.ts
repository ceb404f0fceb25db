// The replay player in a real browser, on a session recorded by `curator simulate --session`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CHROMIUM, startStudio, Studio } from './harness'

const ROOT = resolve(__dirname, '../..')

describe.skipIf(!existsSync(CHROMIUM))('replay player in Chromium', () => {
  let s: Studio
  let sessionDir: string
  beforeAll(async () => {
    sessionDir = join(mkdtempSync(join(tmpdir(), 'curator-replay-e2e-')), 'recorded')
    execFileSync(
      process.execPath,
      [join(ROOT, 'bin/curator.js'), 'simulate', '--pool-limit', '2000', '--test-limit', '500', '--budget', '16', '--session', sessionDir],
      {
        cwd: ROOT,
        env: { ...process.env, CURATOR_CACHE_DIR: process.env.CURATOR_CACHE_DIR ?? join(tmpdir(), 'curator-e2e-cache') },
        stdio: 'ignore'
      }
    )
    s = await startStudio()
  })
  afterAll(async () => {
    await s?.stop()
    rmSync(resolve(sessionDir, '..'), { recursive: true, force: true })
  })

  it('opens a recorded session and steps, scrubs and plays through its iterations', async () => {
    const page = s.page
    await page.goto(s.url)
    await page.getByTestId('field-open-session').fill(sessionDir)
    await page.getByTestId('btn-open-replay').click()
    await page.getByTestId('view-replay').waitFor()
    const position = () => page.getByTestId('player-position').textContent()
    const weights = () => page.getByTestId('chart-weights').getAttribute('data-chart')
    await expect.poll(position).toMatch(/step 1\/5/) // iterations 0..4 of 4 batches
    const start = await weights()

    await page.keyboard.press('ArrowRight')
    await expect.poll(position).toMatch(/iteration 1 .*step 2\/5 .*4 labels/s)
    // Each step shows the images asked, with the answers given.
    expect(await page.getByTestId('replay-asked').locator('[data-testid="replay-image"]').count()).toBe(4)
    await expect.poll(weights).not.toBe(start) // charts redraw in an idle slot after the step

    await page.keyboard.press('ArrowLeft')
    await expect.poll(position).toMatch(/step 1\/5/)
    await page.getByTestId('player-slider').fill('3')
    await expect.poll(position).toMatch(/iteration 3 .*step 4\/5 .*12 labels/s)

    await page.keyboard.press('Space') // play to the end
    await expect.poll(position, { timeout: 20_000 }).toMatch(/step 5\/5 .*16 labels/s)
  })
})
