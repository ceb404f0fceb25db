// `npm run bench:ui`: key press -> next image painted, and the longest frame while the engine
// featurizes and trains, measured in Debian's Chromium against browser mode. Prints JSON.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSession, startStudio } from '../test/e2e/harness'

const presses = Number(process.env.PRESSES ?? 120)
const pool = Number(process.env.POOL ?? 20000)
const cache = mkdtempSync(join(tmpdir(), 'curator-bench-ui-')) // cold: the session start featurizes
process.env.CURATOR_CACHE_DIR = cache

const s = await startStudio()
try {
  const page = s.page
  // Record every frame's duration from the first paint on.
  // A string, not a function: tsx's helpers would not exist in the page.
  await page.addInitScript({
    content: `window.__frames = []; window.__recording = true; let last = performance.now();
      const tick = (t) => { window.__frames.push(t - last); last = t; if (window.__recording) requestAnimationFrame(tick) };
      requestAnimationFrame(tick)`
  })
  await page.goto(s.url)
  const frames = () => page.evaluate(() => (globalThis as unknown as { __frames: number[] }).__frames.splice(0))
  await frames()
  const t0 = Date.now()
  await startSession(page, { poolLimit: pool, testLimit: 2000 })
  const featurizeSeconds = (Date.now() - t0) / 1000
  const duringFeaturize = await frames()

  // Key press -> next image painted, twice: while the frame recorder holds the page to 60 Hz
  // (every paint waits for the next vsync, as on a real display), and with the page idle.
  const label = async () => {
    await page.evaluate(() => ((globalThis as unknown as { __curatorPaints?: number[] }).__curatorPaints = []))
    for (let k = 0; k < presses; k++) {
      await page.keyboard.press(k % 3 ? 'o' : 'e')
      await page.waitForTimeout(80) // a fast labeller: 12 answers a second
    }
    await page.waitForTimeout(500)
    return page.evaluate(() => (globalThis as unknown as { __curatorPaints?: number[] }).__curatorPaints ?? [])
  }
  const paints = await label()
  const duringLabelling = await frames()
  await page.evaluate(() => ((globalThis as unknown as { __recording: boolean }).__recording = false))
  const idlePaints = await label()
  const q = (xs: number[], p: number) => {
    const sorted = [...xs].sort((a, b) => a - b)
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 100) / 100
  }
  const max = (xs: number[]) => Math.round(Math.max(...xs) * 10) / 10
  const result = {
    browser: await s.browser.version(),
    presses: paints.length,
    keyToPaintMs: {
      p50: q(paints, 0.5),
      p95: q(paints, 0.95),
      max: max(paints),
      note: 'the page held to 60 Hz by a rAF loop: each paint waits for the next vsync'
    },
    keyToPaintIdleMs: { presses: idlePaints.length, p50: q(idlePaints, 0.5), p95: q(idlePaints, 0.95), max: max(idlePaints) },
    featurize: {
      pool,
      seconds: featurizeSeconds,
      frames: duringFeaturize.length,
      longestFrameMs: max(duringFeaturize),
      framesOver100ms: duringFeaturize.filter((f) => f > 100).length
    },
    labelling: {
      frames: duringLabelling.length,
      longestFrameMs: max(duringLabelling),
      framesOver100ms: duringLabelling.filter((f) => f > 100).length
    }
  }
  console.log(JSON.stringify(result, null, process.argv.includes('--json') ? 0 : 2))
} finally {
  await s.stop()
  rmSync(cache, { recursive: true, force: true })
}
