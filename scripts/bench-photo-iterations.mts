// The photo pool's iterations with the load filtered out: a 40-iteration session (uncertainty,
// batch 4, as `curator bench-folder --open` runs it) on a folder opened from its caches, then every
// iteration re-run --reps times, alternated between this checkout and another (--src DIR) in one
// process, so the machine's load falls on both alike. Prints each build's per-iteration minimum
// and median (p50 / p95 over the 40) and the first pass's own (the session as it ran).
// Run: node --import tsx scripts/bench-photo-iterations.mts --open FOLDER --cache DIR --base DIR [--src DIR] [--reps 5]
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    open: { type: 'string' },
    cache: { type: 'string' },
    base: { type: 'string' },
    src: { type: 'string' },
    reps: { type: 'string' }
  }
})
if (!values.open || !values.cache || !values.base) throw new Error('--open FOLDER --cache DIR --base DIR are needed')
const here = resolve(import.meta.dirname, '..')

async function session(root: string) {
  const src = `${root}/src/main`
  const { DEFAULT_CONFIG } = await import(`${src}/../shared/contract.ts`)
  const { initBackend } = await import(`${src}/engine/backend.ts`)
  const { prepare } = await import(`${src}/engine/setup.ts`)
  const { simulate } = await import(`${src}/engine/simulate.ts`)
  const { iterate, loopConfigOf } = await import(`${src}/engine/loop.ts`)
  const config = {
    ...DEFAULT_CONFIG,
    dataset: `folder:${values.open}`,
    strategy: 'uncertainty',
    task: { question: 'A square?', negative: { name: 'no', key: 'n' }, positive: { name: 'yes', key: 'y' }, positiveClasses: ['square'] }
  }
  const p = await prepare(config, { backend: await initBackend(), cacheDir: values.cache, baseDir: values.base })
  const batches: unknown[][] = []
  const skipped: number[] = []
  const first: number[] = []
  await simulate(p, {
    strategy: 'uncertainty',
    batchSize: 4,
    budget: 160,
    onIteration: (r: { iterationMs: number }, answers: unknown[], skips: number[]) => {
      first.push(r.iterationMs)
      if (answers.length) batches.push(answers)
      skipped.push(...skips)
    }
  })
  const cfg = loopConfigOf({ strategy: 'uncertainty', batchSize: 4 }, p.base)
  return {
    root,
    rules: p.learner.trust,
    first,
    count: batches.length,
    run: (k: number) => iterate(p.learner, cfg, batches.slice(0, k), skipped)
  }
}

const builds = [await session(here), ...(values.src ? [await session(resolve(values.src))] : [])]
const times = builds.map(() => [] as number[][])
for (let rep = 0; rep < Number(values.reps ?? 5); rep++)
  for (let k = 1; k <= builds[0].count; k++)
    for (const [b, build] of builds.entries()) {
      const t0 = performance.now()
      await build.run(k)
      ;(times[b][k - 1] ??= []).push(performance.now() - t0)
    }
const at = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 10) / 10
}
const both = (xs: number[]) => ({ p50: at(xs, 0.5), p95: at(xs, 0.95) })
for (const [b, build] of builds.entries())
  console.log(
    JSON.stringify({
      src: build.root,
      rules: build.rules,
      min: both(times[b].map((x) => Math.min(...x))),
      median: both(times[b].map((x) => at(x, 0.5))),
      firstPass: both(build.first.slice(1))
    })
  )
