// A folder of images in the real browser: start a session on a generated folder (PNG and JPEG,
// grey/RGB/RGBA, several sizes, bad files), check the images are shown at their sizes, and
// label one batch by keyboard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadDataset } from '../../src/main/data/load'
import { readSessionLog } from '../../src/main/session/log'
import { derive } from '../../src/main/session/derive'
import type { Dataset } from '../../src/main/data/dataset'
import { tempDir } from '../helpers/tmp'
import { ImageFolder, writeImageFolder } from '../main/data/image-folder'
import { CHROMIUM, startSession, startStudio, Studio } from './harness'

const haveChromium = existsSync(CHROMIUM)
/** A canvas's own size (its pixels), not its size on screen. */
const canvasSize = (c: unknown) => [(c as { width: number }).width, (c as { height: number }).height]
const shots = resolve(__dirname, '../../test-results')

describe.skipIf(!haveChromium)('a folder dataset in Chromium (browser mode)', () => {
  let s: Studio
  let f: ImageFolder
  let ds: Dataset
  const tmp = tempDir('curator-e2e-folder-')
  beforeAll(async () => {
    f = await writeImageFolder(tmp.dir)
    // What the studio will load: the same spec and seed (1), so pool ids match.
    ds = await loadDataset(`folder:${f.root}`, { seed: 1, cacheDir: null })
    s = await startStudio()
    await s.page.goto(s.url)
    await startSession(s.page, { poolLimit: 1000, testLimit: 1000, dataset: `folder:${f.root}`, positiveClasses: 'seven' })
  })
  afterAll(async () => {
    await s?.stop()
    tmp.remove()
  })

  it('shows each asked image at its own size, enlarged or shrunk to fit, aspect kept', async () => {
    const page = s.page
    const tiles = page.getByTestId('query-image')
    expect(await tiles.count()).toBe(4)
    for (let k = 0; k < 4; k++) {
      const tile = tiles.nth(k)
      const id = Number(await tile.getAttribute('data-id'))
      expect(id).toBeGreaterThanOrEqual(0)
      expect(id).toBeLessThan(ds.pool.count)
      const canvas = tile.locator('canvas')
      const intrinsic = await canvas.evaluate(canvasSize)
      expect(intrinsic).toEqual([ds.pool.widths[id], ds.pool.heights[id]])
      expect(f.sizes).toContain(`${intrinsic[0]}x${intrinsic[1]}`)
      const shown = (await canvas.boundingBox())!
      // Never tiny, never beyond the tile box (280 px at most), the aspect ratio kept.
      expect(Math.max(shown.width, shown.height)).toBeGreaterThanOrEqual(100)
      expect(Math.max(shown.width, shown.height)).toBeLessThanOrEqual(280)
      expect(Math.abs(shown.width / shown.height - intrinsic[0] / intrinsic[1])).toBeLessThan(0.05)
    }
  })

  it('labels one batch by keyboard and retrains', async () => {
    const page = s.page
    const iteration = async () => Number(await page.getByTestId('status-iteration').textContent())
    expect(await iteration()).toBe(0)
    // The default answer keys: o (odd -> positive here), e (negative).
    for (let k = 0; k < 4; k++) await page.keyboard.press(k % 2 ? 'e' : 'o')
    await expect.poll(iteration, { timeout: 60_000 }).toBe(1)
    await expect.poll(() => page.getByTestId('status-labels').textContent()).toBe('4')
    await page.getByTestId('query-image').first().waitFor()
    // The next batch comes from the folder too.
    const id = Number(await page.getByTestId('query-image').first().getAttribute('data-id'))
    const intrinsic = await page.getByTestId('query-image').first().locator('canvas').evaluate(canvasSize)
    expect(intrinsic).toEqual([ds.pool.widths[id], ds.pool.heights[id]])
    // Every image lies inside its tile, whatever the mix of sizes in the batch.
    const tiles = page.getByTestId('query-image')
    for (let k = 0; k < (await tiles.count()); k++) {
      const tile = (await tiles.nth(k).boundingBox())!
      const shown = (await tiles.nth(k).locator('canvas').boundingBox())!
      expect(shown.x).toBeGreaterThanOrEqual(tile.x)
      expect(shown.y).toBeGreaterThanOrEqual(tile.y)
      expect(shown.x + shown.width).toBeLessThanOrEqual(tile.x + tile.width + 0.5)
      expect(shown.y + shown.height).toBeLessThanOrEqual(tile.y + tile.height + 0.5)
    }
    mkdirSync(shots, { recursive: true })
    await page.screenshot({ path: join(shots, 'folder-labelling.png') })

    // The session records the dataset as typed and, in the dataset id, what shaped it:
    // the maximum side and the seeded split.
    const dir = join(s.dataDir, 'sessions', readdirSync(join(s.dataDir, 'sessions'))[0])
    const start = derive((await readSessionLog(dir)).events).start
    expect(start.config.dataset).toBe(`folder:${f.root}`)
    expect(start.dataset.id).toBe(`folder:${f.root}?maxSide=256&testFraction=0.2&splitSeed=1`)
    expect(start.dataset.hash).toBe(ds.hash)
    expect([start.dataset.poolSize, start.dataset.testSize]).toEqual([ds.pool.count, ds.test!.count])
  })

  it('tells the user how many files were skipped', async () => {
    const text = await s.page.getByTestId('warnings').textContent()
    expect(text).toMatch(new RegExp(`${Object.keys(f.bad).length} files? (were )?skipped`))
  })
})

if (!haveChromium) console.warn(`Skipped the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`)
