// The export dialog in a real browser: label a batch by keyboard, export with the images
// checkbox ticked, and find model.onnx, the labelled dataset and images/<answer>/ on disk and in
// the browser-mode download.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CHROMIUM, startSession, startStudio, Studio } from './harness'

const haveChromium = existsSync(CHROMIUM)
const shots = resolve(__dirname, '../../test-results')

describe.skipIf(!haveChromium)('the export dialog in Chromium (browser mode)', () => {
  let s: Studio
  beforeAll(async () => {
    s = await startStudio()
  })
  afterAll(async () => {
    await s?.stop()
  })

  it('exports ONNX, the labels and, with the checkbox, the labelled images', async () => {
    const page = s.page
    await page.goto(s.url)
    await startSession(page, { poolLimit: 400, testLimit: 200 })
    const batch = await page.getByTestId('query-image').count()
    for (let k = 0; k < batch; k++) await page.keyboard.press(k % 2 ? 'e' : 'o')
    await expect.poll(() => page.getByTestId('status-labels').textContent(), { timeout: 30_000 }).toBe(String(batch))
    await page.getByTestId('btn-export').click()
    await page.getByTestId('export-dialog').waitFor()
    await page.getByTestId('field-export-images').check()
    await page.getByTestId('btn-export-run').click()
    const result = page.getByTestId('export-result')
    await result.waitFor({ timeout: 60_000 })
    mkdirSync(shots, { recursive: true })
    await page.getByTestId('export-dialog').screenshot({ path: join(shots, 'export-dialog.png') })
    const text = await result.textContent()
    for (const f of ['model.onnx', 'labels.csv', 'labels.jsonl', 'accuracy.png', 'images']) expect(text).toContain(f)

    const exports = join(s.dataDir, 'exports')
    const dir = join(exports, readdirSync(exports).filter((n) => !n.startsWith('.'))[0])
    const rows = readFileSync(join(dir, 'labels.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; label: string })
    expect(rows).toHaveLength(batch)
    for (const r of rows) expect(existsSync(join(dir, 'images', r.label, `${r.key}.png`))).toBe(true)
    // The download (a zip) holds them too.
    const href = await page.getByRole('link', { name: 'Download .zip' }).getAttribute('href')
    const zip = Buffer.from(await (await fetch(new URL(href!, s.url))).arrayBuffer())
    for (const r of rows) expect(zip.includes(Buffer.from(`/images/${r.label}/${r.key}.png`))).toBe(true)
    expect(zip.includes(Buffer.from('/model.onnx'))).toBe(true)
  })
})
