// Bring your own base: small grey images of objects that are not digits (circles, crosses,
// squares, triangles), two yes/no questions on their shape ("is it a circle?", and the harder
// "is it a circle or a triangle?", which asks a linear head for two shapes at once), 40 labels,
// with the shipped digit CNN and with a real pretrained MobileNetV2 (nsfwjs's, written out as a
// plain model folder, its pooled 1,280-wide output as features). Prints held-out accuracy per
// seed and the timings.
// Run: npm run build && node --import tsx scripts/bench-base.mts [--per-class 100] [--seeds 1,2,3] [--budget 40] [--strategy diverse]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { writeMobileNetV2 } from '../test/helpers/mobilenet'
import { writeShapeFolder } from '../test/helpers/shapes'

const { values } = parseArgs({
  options: { 'per-class': { type: 'string' }, seeds: { type: 'string' }, budget: { type: 'string' }, strategy: { type: 'string' } }
})
const perClass = Number(values['per-class'] ?? 100)
const seeds = (values.seeds ?? '1,2,3').split(',').map(Number)
const budget = Number(values.budget ?? 40)
const strategy = values.strategy ?? 'diverse'
const tasks = { 'is it a circle?': 'circle', 'is it a circle or a triangle?': 'circle,triangle' }

const root = mkdtempSync(join(tmpdir(), 'curator-bench-base-'))
try {
  const data = await writeShapeFolder(join(root, 'shapes'), perClass, 64, 1)
  const mobilenet = writeMobileNetV2(join(root, 'mobilenet_v2'))
  const bases: Record<string, string[]> = {
    'digit CNN (shipped)': [],
    'MobileNetV2 (nsfwjs, flatten_1, 1,280 wide)': ['--base', mobilenet]
  }
  type Run = { seed: number; testAccuracy: number | null; labelsTo95: number | null; seconds: number }
  const out: Record<string, Record<string, Run[]>> = {}
  for (const [task, positive] of Object.entries(tasks))
    for (const [name, extra] of Object.entries(bases)) {
      const runs: Run[] = ((out[task] ??= {})[name] = [])
      for (const seed of seeds) {
        const t0 = performance.now()
        const lines = execFileSync(
          process.execPath,
          [
            'bin/curator.js',
            'simulate',
            '--dataset',
            `folder:${data}`,
            '--positive',
            positive,
            '--strategy',
            strategy,
            '--budget',
            String(budget),
            '--seed',
            String(seed),
            '--json',
            ...extra
          ],
          {
            encoding: 'utf8',
            env: { ...process.env, CURATOR_CACHE_DIR: join(root, 'cache') },
            stdio: ['ignore', 'pipe', 'ignore'],
            maxBuffer: 1 << 28
          }
        )
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
        const summary = lines.find((l) => l.summary).summary
        const first95 = lines.find((l) => l.testAccuracy !== undefined && l.testAccuracy >= 0.95)
        runs.push({
          seed,
          testAccuracy: summary.finalTestAccuracy,
          labelsTo95: first95?.labels ?? null,
          seconds: Math.round((performance.now() - t0) / 100) / 10
        })
      }
    }
  const mean = (r: Run[]) => r.reduce((s, x) => s + (x.testAccuracy ?? NaN), 0) / r.length
  console.log(
    JSON.stringify(
      {
        images: perClass * 4,
        budget,
        strategy,
        seeds,
        tasks: Object.fromEntries(
          Object.entries(out).map(([task, bases]) => [
            task,
            Object.fromEntries(Object.entries(bases).map(([k, r]) => [k, { runs: r, mean: mean(r) }]))
          ])
        )
      },
      null,
      2
    )
  )
} finally {
  rmSync(root, { recursive: true, force: true })
}
