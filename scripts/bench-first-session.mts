// `npm run bench:first-session`: a fresh install's first session, as a newcomer meets it: browser
// mode with an empty cache folder, the start form left at its defaults (all of MNIST), Start
// clicked in Chromium, timed until the first image is on screen. Then the same with the cache
// warm (a second launch), and with `--featurize` also without the shipped features (the base
// model copied without its features/ folder: every image featurized). Prints JSON.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startStudio } from '../test/e2e/harness'

const runs = Number(process.env.RUNS ?? 3)

/** Seconds from the Start click to the first query image painted, in a new `curator serve`. */
async function firstSession(cacheDir: string, env: Record<string, string> = {}): Promise<number> {
  Object.assign(process.env, { CURATOR_CACHE_DIR: cacheDir }, env)
  const s = await startStudio()
  try {
    await s.page.goto(s.url)
    await s.page.getByTestId('view-start').waitFor()
    await s.page.getByTestId('btn-start').waitFor()
    const t0 = Date.now()
    await s.page.getByTestId('btn-start').click()
    await s.page.getByTestId('query-image').first().waitFor({ timeout: 300_000 })
    return (Date.now() - t0) / 1000
  } finally {
    await s.stop()
    for (const k of Object.keys(env)) delete process.env[k]
  }
}

const round = (x: number) => Math.round(x * 100) / 100
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fresh: number[] = []
const warm: number[] = []
for (let r = 0; r < runs; r++) {
  const cache = mkdtempSync(join(tmpdir(), 'curator-first-session-'))
  try {
    fresh.push(await firstSession(cache))
    warm.push(await firstSession(cache))
  } finally {
    rmSync(cache, { recursive: true, force: true })
  }
}
const result: Record<string, unknown> = {
  freshInstallSeconds: { median: round(median(fresh)), runs: fresh.map(round) },
  warmCacheSeconds: { median: round(median(warm)), runs: warm.map(round) }
}
if (process.argv.includes('--featurize')) {
  const cache = mkdtempSync(join(tmpdir(), 'curator-first-session-'))
  const base = mkdtempSync(join(tmpdir(), 'curator-base-'))
  try {
    cpSync(resolve('resources/models/mnist-cnn'), base, { recursive: true, filter: (src) => !src.includes('features') })
    result.withoutShippedFeaturesSeconds = round(await firstSession(cache, { CURATOR_BASE_MODEL: base }))
  } finally {
    rmSync(cache, { recursive: true, force: true })
    rmSync(base, { recursive: true, force: true })
  }
}
console.log(JSON.stringify(result, null, process.argv.includes('--json') ? 0 : 2))
