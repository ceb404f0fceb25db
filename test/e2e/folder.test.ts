// A folder of images in the real browser: start a session on a generated folder (PNG and JPEG,
// grey/RGB/RGBA, several sizes, bad files), check the tiles show each image's thumbnail (read
// from the cache on disk, byte for byte) with its file key, and label one batch by keyboard; then the same
// with a custom base (the real MobileNetV2 fixture, `serve --base DIR`) on a folder of grey shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadDataset } from '../../src/main/data/load'
import { readSessionLog } from '../../src/main/session/log'
import { derive } from '../../src/main/session/derive'
import { imagePixels, type Dataset } from '../../src/main/data/dataset'
import { THUMB_SIDE } from '../../src/main/data/decode'
import { tempDir } from '../helpers/tmp'
import { writeMobileNetV2 } from '../helpers/mobilenet'
import { writeShapeFolder } from '../helpers/shapes'
import { defaultBaseDir, readBase } from '../../src/main/engine/base'
import { CLASSES, ImageFolder, writeImageFolder } from '../main/data/image-folder'
import { CHROMIUM, startSession, startStudio, Studio } from './harness'

const haveChromium = existsSync(CHROMIUM)
/** An image's own size (its pixels), not its size on screen. */
const imageSize = (i: unknown) => [(i as { naturalWidth: number }).naturalWidth, (i as { naturalHeight: number }).naturalHeight]
/** An image's pixels, RGBA, as a canvas reads them back. */
const imagePixelsShown = (i: unknown) => {
  const img = i as { naturalWidth: number; naturalHeight: number }
  const doc = (globalThis as unknown as { document: { createElement: (t: 'canvas') => unknown } }).document
  const c = doc.createElement('canvas') as {
    width: number
    height: number
    getContext: (k: '2d') => {
      drawImage: (i: unknown, x: number, y: number) => void
      getImageData: (...a: number[]) => { data: ArrayLike<number> }
    }
  }
  c.width = img.naturalWidth
  c.height = img.naturalHeight
  const ctx = c.getContext('2d')
  ctx.drawImage(img, 0, 0)
  return Array.from(ctx.getImageData(0, 0, c.width, c.height).data)
}
/** An image's pixels as shown: RGBA, grey repeated, opaque. */
function rgba(set: Dataset['pool'], i: number): number[] {
  const p = imagePixels(set, i)
  const c = set.channels[i]
  return Array.from({ length: set.widths[i] * set.heights[i] }, (_, k) =>
    c === 1 ? [p[k], p[k], p[k], 255] : [p[3 * k], p[3 * k + 1], p[3 * k + 2], 255]
  ).flat()
}
const shots = resolve(__dirname, '../../test-results')

describe.skipIf(!haveChromium)('a folder dataset in Chromium (browser mode)', () => {
  let s: Studio
  let f: ImageFolder
  let ds: Dataset
  /** The class names the start screen showed before Start, and the positive classes after a click on one. */
  let chips: string[] = []
  let clicked = ''
  let picked = ''
  let browsedTo: string | null = null
  const tmp = tempDir('curator-e2e-folder-')
  beforeAll(async () => {
    f = await writeImageFolder(tmp.dir)
    // What the studio will load: the same spec and seed (1), so pool ids match.
    ds = await loadDataset(`folder:${f.root}`, { seed: 1, cacheDir: null, input: readBase(defaultBaseDir()).input })
    s = await startStudio()
    await s.page.goto(s.url)
    // Browser mode's Browse…: the folder browser, typed to the parent, a click down, chosen.
    const page = s.page
    await page.getByTestId('btn-browse-dataset').click()
    await page.getByTestId('folder-list').waitFor()
    await page.getByTestId('folder-path').fill(tmp.dir)
    await page.getByTestId('folder-go').click()
    await page.locator(`[data-testid="folder-list"][data-path="${tmp.dir}"]`).waitFor()
    await page.locator('[data-testid="folder-entry"][data-name="my imägës"]').click()
    await page.locator(`[data-testid="folder-list"][data-path="${f.root}"]`).waitFor()
    browsedTo = await page.getByTestId('folder-info').textContent()
    await page.getByTestId('folder-choose').click()
    picked = await page.getByTestId('field-dataset').inputValue()
    // Before Start: the folder's classes, one click from the positive classes.
    await s.page.getByTestId('class-chip').first().waitFor({ timeout: 30_000 })
    chips = await s.page.getByTestId('class-chip').allTextContents()
    await s.page.locator('[data-testid="class-chip"][data-class="seven"]').click()
    clicked = await s.page.getByTestId('field-positive-classes').inputValue()
    await startSession(s.page, { poolLimit: 1000, testLimit: 1000, dataset: `folder:${f.root}`, positiveClasses: 'seven' })
  })
  afterAll(async () => {
    await s?.stop()
    tmp.remove()
  })

  it('Browse… in browser mode: the folder browser went down to the folder and chose it', () => {
    expect(picked).toBe(`folder:${f.root}`)
    expect(browsedTo).toMatch(/· 3 subfolders · \d+ PNG\/JPEG files/)
  })

  it('showed the folder’s class names before Start, and a click made one positive', () => {
    expect(chips.map((c) => c.trim())).toEqual(CLASSES)
    expect(clicked).toBe('seven')
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
      const image = tile.locator('img.pixel-image')
      const intrinsic = await image.evaluate(imageSize)
      expect(intrinsic).toEqual([ds.pool.widths[id], ds.pool.heights[id]])
      // The thumbnail: the image at its own size, at most THUMB_SIDE a side (the model saw it at 28x28).
      expect(Math.max(...intrinsic)).toBeLessThanOrEqual(THUMB_SIDE)
      expect(await image.evaluate(imagePixelsShown)).toEqual(rgba(ds.pool, id))
      expect(await tile.getByTestId('image-key').textContent()).toBe(ds.pool.names![id])
      const shown = (await image.boundingBox())!
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
    // Another dataset than MNIST gets the neutral task: y (positive), n (negative).
    for (let k = 0; k < 4; k++) await page.keyboard.press(k % 2 ? 'n' : 'y')
    await expect.poll(iteration, { timeout: 60_000 }).toBe(1)
    await expect.poll(() => page.getByTestId('status-labels').textContent()).toBe('4')
    await page.getByTestId('query-image').first().waitFor()
    // The next batch comes from the folder too.
    const id = Number(await page.getByTestId('query-image').first().getAttribute('data-id'))
    const intrinsic = await page.getByTestId('query-image').first().locator('img.pixel-image').evaluate(imageSize)
    expect(intrinsic).toEqual([ds.pool.widths[id], ds.pool.heights[id]])
    // Every image lies inside its tile, whatever the mix of sizes in the batch.
    const tiles = page.getByTestId('query-image')
    for (let k = 0; k < (await tiles.count()); k++) {
      const tile = (await tiles.nth(k).boundingBox())!
      const shown = (await tiles.nth(k).locator('img.pixel-image').boundingBox())!
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

describe.skipIf(!haveChromium)('a custom base (MobileNetV2, serve --base) on a folder in Chromium', () => {
  let s: Studio
  const tmp = tempDir('curator-e2e-base-')
  beforeAll(async () => {
    const base = writeMobileNetV2(join(tmp.dir, 'mobilenet_v2'))
    const shapes = await writeShapeFolder(join(tmp.dir, 'shapes'), 8, 64, 5)
    s = await startStudio(['--base', base])
    await s.page.goto(s.url)
    await s.page.getByTestId('base-info').waitFor()
    expect(await s.page.getByTestId('base-info').textContent()).toMatch(/mobilenet_v2.*flatten_1/s)
    expect(await s.page.getByTestId('base-input').textContent()).toMatch(/224x224/)
    await startSession(s.page, { poolLimit: 1000, testLimit: 1000, dataset: `folder:${shapes}`, positiveClasses: 'circle,triangle' })
  }, 300_000)
  afterAll(async () => {
    await s?.stop()
    tmp.remove()
  })

  it('asks the shapes with their keys (64-px thumbnails; the model saw 224x224), labels a batch, retrains on 1,280 features and charts the largest weights', async () => {
    const page = s.page
    const tiles = page.getByTestId('query-image')
    for (let k = 0; k < (await tiles.count()); k++) {
      expect(await tiles.nth(k).locator('img.pixel-image').evaluate(imageSize)).toEqual([64, 64])
      expect(await tiles.nth(k).getByTestId('image-key').textContent()).toMatch(/^(circle|cross|square|triangle)\/.+\.png$/)
    }
    const keys = await page.getByTestId('image-key').allTextContents()
    for (const key of keys) await page.keyboard.press(/^(circle|triangle)\//.test(key) ? 'y' : 'n')
    await expect.poll(async () => Number(await page.getByTestId('status-iteration').textContent()), { timeout: 120_000 }).toBe(1)
    await page.getByTestId('query-image').first().waitFor()
    // The 20 largest of 1,280 weights, and the bias.
    await expect.poll(async () => JSON.parse((await page.getByTestId('chart-weights').getAttribute('data-chart')) ?? '[]').length).toBe(21)
    mkdirSync(shots, { recursive: true })
    await page.screenshot({ path: join(shots, 'custom-base-labelling.png') })
  }, 300_000)
})

if (!haveChromium) console.warn(`Skipped the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`)
