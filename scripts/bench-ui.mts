// `npm run bench:ui`: key press -> next image painted and the longest frame, measured in Debian's
// Chromium against browser mode: with the page idle, held to 60 Hz, and while the engine featurizes
// and trains (started from a second tab, as a person would with one tab labelling). Prints JSON.
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { clickStart, startSession, startStudio } from '../test/e2e/harness'

const presses = Number(process.env.PRESSES ?? 120)
const pool = Number(process.env.POOL ?? 20000)
/** The pool the second tab featurizes while the first labels (MNIST's 60,000 less one: not the shipped features). */
const featurizePool = Number(process.env.FEATURIZE_POOL ?? 59999)
/** MNIST images the second tab's retraining runs on, for one epoch. */
const trainImages = Number(process.env.TRAIN_IMAGES ?? 12000)
/** A batch as large as a session allows: answers given while the engine is busy wait for it, a batch's worth at a time. */
const BIG_BATCH = 64
const cache = mkdtempSync(join(tmpdir(), 'curator-bench-ui-')) // cold: the session start featurizes
process.env.CURATOR_CACHE_DIR = cache

type Loaf = {
  at: number
  ms: number
  blockingMs: number
  renderMs: number
  styleLayoutMs: number
  scripts: { ms: number; layoutMs: number; what: string }[]
}
/** One key's paint in parts, as the labelling view records it (src/renderer/src/lib/perf.ts). */
type PaintParts = { scriptMs: number; newBatch: boolean }
type Probe = {
  __loaf: Loaf[]
  __frames: number[]
  __frameEnds: number[]
  __recording: boolean
  __curatorPaints?: number[]
  __curatorPaintParts?: PaintParts[]
  __switchAt?: number | null
}
// Record every frame's duration from the first paint on.
// A string, not a function: tsx's helpers would not exist in the page.
const FRAME_RECORDER = `(() => { window.__frames = []; window.__frameEnds = []; window.__recording = true; let last = performance.now();
  const tick = (t) => { window.__frames.push(t - last); window.__frameEnds.push(Date.now()); last = t; if (window.__recording) requestAnimationFrame(tick) };
  requestAnimationFrame(tick) })()`
// Long animation frames (over 50 ms) with what ran in them: the scripts' invokers, functions and
// sources, and how long style, layout and paint took, so a long frame can be traced to its cause.
const LOAF_RECORDER = `(() => { window.__loaf = []; try { new PerformanceObserver((list) => { for (const e of list.getEntries())
  window.__loaf.push({ at: performance.timeOrigin + e.startTime, ms: Math.round(e.duration), blockingMs: Math.round(e.blockingDuration),
    renderMs: e.renderStart ? Math.round(e.startTime + e.duration - e.renderStart) : 0,
    styleLayoutMs: e.styleAndLayoutStart ? Math.round(e.startTime + e.duration - e.styleAndLayoutStart) : 0,
    scripts: e.scripts.map((s) => ({ ms: Math.round(s.duration), layoutMs: Math.round(s.forcedStyleAndLayoutDuration),
      what: s.invokerType + ' ' + s.invoker + (s.sourceFunctionName ? ' ' + s.sourceFunctionName : '') +
        (s.sourceURL ? ' @' + s.sourceURL.replace(/^.*\\//, '') + ':' + s.sourceCharPosition : '') })) }) })
  .observe({ type: 'long-animation-frame', buffered: true }) } catch {} })()`

const q = (xs: number[], p: number) => {
  if (!xs.length) return null
  const sorted = [...xs].sort((a, b) => a - b)
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 100) / 100
}
const max = (xs: number[]) => (xs.length ? Math.round(Math.max(...xs) * 10) / 10 : null)
type Paints = { ms: number[]; parts: PaintParts[] }
const plainFigures = (xs: number[]) => ({ presses: xs.length, p50: q(xs, 0.5), p95: q(xs, 0.95), max: max(xs) })
/**
 * Key -> paint, and where it went: `script`, the key's handler and the DOM update (the rest is the
 * browser's frame: style, layout, the wait for it); the presses that showed the next batch apart.
 */
const paintFigures = ({ ms, parts }: Paints) => {
  const split = (newBatch: boolean) => plainFigures(ms.filter((_, i) => parts[i]?.newBatch === newBatch))
  return {
    ...plainFigures(ms),
    script: plainFigures(parts.map((p) => p.scriptMs)),
    withinBatch: split(false),
    nextBatch: split(true)
  }
}
const frameFigures = (xs: number[]) => ({
  frames: xs.length,
  longestFrameMs: max(xs),
  framesOver50ms: xs.filter((f) => f > 50).length,
  framesOver100ms: xs.filter((f) => f > 100).length
})
/** What the page shows, as page code (polled every 50 ms by markWhenShown). */
const SHOWN = {
  'the labelling view': `String(!!document.querySelector('[data-testid="view-label"]'))`,
  'another session': `document.querySelector('.session-id')?.textContent ?? ''`
}
/** The long frames of a phase: how many, the three longest with their three longest scripts, and script time summed by what ran. */
const longFrameFigures = (xs: Loaf[]) => {
  const totals = new Map<string, number>()
  for (const e of xs)
    for (const sc of e.scripts) {
      const k = sc.what.replace(/:\d+$/, '')
      totals.set(k, (totals.get(k) ?? 0) + sc.ms)
    }
  return {
    count: xs.length,
    longest: [...xs]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3)
      .map(({ at: _, ...e }) => ({ ...e, scripts: [...e.scripts].sort((a, b) => b.ms - a.ms).slice(0, 3) })),
    scriptMsByWhat: Object.fromEntries([...totals].sort((a, b) => b[1] - a[1]).slice(0, 5))
  }
}
const load = () => loadavg().map((x) => Math.round(x * 100) / 100)

const s = await startStudio()
try {
  const page = s.page
  await page.addInitScript({ content: FRAME_RECORDER })
  await page.addInitScript({ content: LOAF_RECORDER })
  await page.goto(s.url)
  const frames = () =>
    page.evaluate(() => {
      const p = globalThis as unknown as Probe
      p.__frameEnds.splice(0)
      return p.__frames.splice(0)
    })
  /**
   * Notes in the page when it shows `what` (a new view or another session); `split` then parts
   * the frames recorded since into those before and those after (the frame that re-renders the
   * view is no frame "while featurizing", so it is counted apart).
   */
  const markWhenShown = (what: keyof typeof SHOWN) =>
    page.evaluate(`(() => {
      const now = () => ${SHOWN[what]};
      const first = now();
      window.__switchAt = null;
      const timer = setInterval(() => { if (now() !== first) { window.__switchAt = Date.now() - 50; clearInterval(timer) } }, 50);
    })()`)
  const split = () =>
    page.evaluate(() => {
      const p = globalThis as unknown as Probe
      const at = p.__switchAt ?? Infinity
      const ends = p.__frameEnds.splice(0)
      const all = p.__frames.splice(0)
      return { before: all.filter((_, i) => ends[i] < at), after: all.filter((_, i) => ends[i] >= at) }
    })
  /** The long animation frames since the last call. */
  const loaf = async () => longFrameFigures(await page.evaluate(() => (globalThis as unknown as Probe).__loaf?.splice(0) ?? []))
  const recording = (on: boolean) => page.evaluate((v) => ((globalThis as unknown as Probe).__recording = v), on)
  const restartRecorder = () => page.evaluate(FRAME_RECORDER)
  // The page's first second (its script, the studio's first calls, the first paints) is a phase
  // of its own, as is filling the start form: the session's start is timed from the click.
  await page.getByTestId('view-start').waitFor()
  await page.waitForTimeout(1000)
  const pageLoad = await frames()
  const longFrames: Record<string, ReturnType<typeof longFrameFigures>> = { pageLoad: await loaf() }
  let t0 = 0
  await startSession(page, {
    poolLimit: pool,
    testLimit: 2000,
    beforeClick: async () => {
      await frames()
      longFrames.startForm = await loaf()
      await markWhenShown('the labelling view')
      t0 = Date.now()
    }
  })
  const featurizeSeconds = (Date.now() - t0) / 1000
  const { before: duringFeaturize, after: openingSession } = await split()
  longFrames.featurizeAndOpen = await loaf()

  /** Presses answer keys at 12 a second (a fast labeller) until `until` says stop or `count` were pressed; the paints measured. */
  const label = async (count: number, until: () => boolean = () => false): Promise<Paints> => {
    await page.evaluate(() => {
      const p = globalThis as unknown as Probe
      p.__curatorPaints = []
      p.__curatorPaintParts = []
    })
    for (let k = 0; k < count && !until(); k++) {
      await page.keyboard.press(k % 3 ? 'o' : 'e')
      await page.waitForTimeout(80)
    }
    await page.waitForTimeout(300)
    return page.evaluate(() => {
      const p = globalThis as unknown as Probe
      return { ms: p.__curatorPaints ?? [], parts: p.__curatorPaintParts ?? [] }
    })
  }
  // Key press -> next image painted, twice: while the frame recorder holds the page to 60 Hz
  // (every paint waits for the next vsync, as on a real display), and with the page idle.
  const loadAtStart = load()
  const paints = await label(presses)
  const duringLabelling = await frames()
  longFrames.labelling = await loaf()
  await recording(false)
  const idlePaints = await label(presses)
  longFrames.labellingIdle = await loaf()

  // The same page labelling a session with the largest batch, first with the engine idle,
  // then while a second tab starts a session whose pool is featurized, then while it retrains the base.
  await page.getByTestId('btn-new-session').click()
  await startSession(page, { poolLimit: pool, testLimit: 2000, batchSize: BIG_BATCH })
  await restartRecorder()
  await frames()
  await loaf()
  const bigIdlePaints = await label(BIG_BATCH)
  const bigIdleFrames = await frames()
  longFrames.batch64Idle = await loaf()
  await page.waitForTimeout(1500) // the next batch's prefetch

  const other: Page = await s.browser.newPage({ viewport: { width: 1440, height: 900 } })
  await other.goto(s.url)
  await other.getByTestId('btn-new-session').click()
  let opened = false
  await markWhenShown('another session')
  await clickStart(other, { poolLimit: featurizePool, testLimit: 10000, batchSize: BIG_BATCH })
  const featurizeStart = Date.now()
  void other
    .getByTestId('view-label')
    .waitFor({ timeout: 600_000 })
    .then(() => (opened = true))
  await frames()
  await loaf()
  const featurizePaints = await label(2 * BIG_BATCH, () => opened)
  // When the second tab's session opens, this tab is switched to it (the studio has one session open).
  const { before: featurizeFrames, after: switchFrames } = await split()
  longFrames.batch64WhileFeaturizing = await loaf()
  while (!opened) await page.waitForTimeout(100)
  const secondFeaturizeSeconds = (Date.now() - featurizeStart) / 1000

  // The first tab now shows the second tab's session; reloaded, without the answers the switch refused.
  await page.reload()
  await page.getByTestId('query-image').first().waitFor()
  await page.waitForTimeout(1000)
  await other.getByTestId('btn-new-session').click()
  await other.getByTestId('btn-retrain').click()
  await other.getByTestId('field-retrain-epochs').fill('1')
  const advanced = other.getByTestId('retrain-form').locator('details.advanced')
  await advanced.locator('summary').click()
  await other.getByTestId('field-retrain-images').fill(String(trainImages))
  await other.getByTestId('btn-retrain-start').click()
  const trainStart = Date.now()
  let trained = false
  void other
    .getByTestId('btn-retrain')
    .waitFor({ timeout: 600_000 })
    .then(() => (trained = true))
  await frames()
  await loaf()
  const trainPaints = await label(2 * BIG_BATCH, () => trained)
  const trainFrames = await frames()
  longFrames.batch64WhileTraining = await loaf()
  while (!trained) await page.waitForTimeout(100)
  const trainSeconds = (Date.now() - trainStart) / 1000

  const result = {
    browser: await s.browser.version(),
    loadAverage: { atStart: loadAtStart, atEnd: load(), cores: availableParallelism() },
    note: 'key time: the keydown event timestamp; paint: the next animation frame after the DOM has the image',
    keyToPaintMs: { ...paintFigures(paints), note: 'the page held to 60 Hz by a rAF loop: each paint waits for the next vsync' },
    keyToPaintIdleMs: paintFigures(idlePaints),
    pageLoad: { note: 'the first second after the page loaded, before the start form is filled', ...frameFigures(pageLoad) },
    featurize: { pool, seconds: featurizeSeconds, ...frameFigures(duringFeaturize), openingTheSession: frameFigures(openingSession) },
    labelling: frameFigures(duringLabelling),
    batch64: {
      note: `batch ${BIG_BATCH}, held to 60 Hz; the busy phases are started from a second tab and end when its work ends`,
      idle: { keyToPaintMs: paintFigures(bigIdlePaints), ...frameFigures(bigIdleFrames) },
      whileFeaturizing: {
        images: featurizePool + 10000,
        seconds: secondFeaturizeSeconds,
        keyToPaintMs: paintFigures(featurizePaints),
        ...frameFigures(featurizeFrames),
        switchedToThatSession: frameFigures(switchFrames)
      },
      whileTraining: {
        images: trainImages,
        epochs: 1,
        seconds: trainSeconds,
        keyToPaintMs: paintFigures(trainPaints),
        ...frameFigures(trainFrames)
      }
    },
    longAnimationFrames: { note: 'PerformanceObserver long-animation-frame (over 50 ms) in the labelling tab, per phase', ...longFrames }
  }
  console.log(JSON.stringify(result, null, process.argv.includes('--json') ? 0 : 2))
} finally {
  await s.stop()
  rmSync(cache, { recursive: true, force: true })
}
