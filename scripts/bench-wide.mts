// The iteration at 1,280 features without featurizing anything: a seeded synthetic pool shaped like
// a MobileNetV2's pooled output (non-negative, 24 clusters, a third of them positive), 4,000 held
// out, `simulate` for 40 iterations of batch 4; prints the iteration's p50 / p95 / max (the first,
// empty fit left out) and the held-out accuracy. --src DIR runs another checkout's sources (a
// before/after comparison alternated in one run); --records FILE writes every record but its time
// (two runs' files are the same byte for byte when the fit is deterministic).
// Run: node --import tsx scripts/bench-wide.mts [--pool 16000] [--strategy diverse] [--noise 0.1] [--iterations 40] [--src DIR] [--records FILE]
import * as tf from '@tensorflow/tfjs'
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    pool: { type: 'string' },
    strategy: { type: 'string' },
    noise: { type: 'string' },
    iterations: { type: 'string' },
    src: { type: 'string' },
    records: { type: 'string' }
  }
})
const src = resolve(values.src ?? resolve(import.meta.dirname, '..'), 'src/main')
const { Learner, TRUST_RULES } = await import(`${src}/engine/learner.ts`)
const { simulate } = await import(`${src}/engine/simulate.ts`)
const { Rng } = await import(`${src}/util/rng.ts`)
await tf.setBackend('cpu')

const dim = 1280
const clusters = 24
const rng = new Rng(7)
const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
const centres = Float32Array.from({ length: clusters * dim }, () => Math.max(0, gauss()) * 0.8)
function matrix(count: number) {
  const data = new Float32Array(count * dim)
  const truth = new Int8Array(count)
  for (let i = 0; i < count; i++) {
    const c = Math.floor(rng.next() * clusters)
    truth[i] = c % 3 === 0 ? 1 : 0
    for (let j = 0; j < dim; j++) data[i * dim + j] = Math.max(0, centres[c * dim + j] + 0.6 * gauss())
  }
  return { m: { count, dim, data }, truth }
}
const pool = matrix(Number(values.pool ?? 16000))
const test = matrix(4000)
// The head's TF.js twin needs a base with a 1,280-wide layer; the exact head never runs it.
const base = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: dim, name: 'features' })] })
const learner = new Learner({
  base,
  unfreeze: 0,
  featureLayer: 'features',
  classes: 0,
  fit: 'converge',
  seed: 1,
  // The head's current rules, as a new session gets them (a Learner without them runs a recorded session's first).
  trust: TRUST_RULES,
  pool: pool.m,
  test: test.m,
  poolTruth: pool.truth,
  testTruth: test.truth
})
const times: number[] = []
const records: unknown[] = []
const summary = await simulate({ learner, poolTruth: pool.truth, testTruth: test.truth, base: { classNames: [] } } as never, {
  strategy: (values.strategy ?? 'diverse') as never,
  batchSize: 4,
  budget: Number(values.iterations ?? 40) * 4,
  noise: Number(values.noise ?? 0.1),
  onIteration: (r: { iterationMs: number }) => {
    const { iterationMs, ...rest } = r
    times.push(iterationMs)
    records.push(rest)
  }
})
const sorted = times.slice(1).sort((a, b) => a - b)
const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10
console.log(JSON.stringify({ src, pool: pool.m.count, p50: at(0.5), p95: at(0.95), max: at(1), testAccuracy: summary.finalTestAccuracy }))
if (values.records) writeFileSync(values.records, JSON.stringify({ summary: { ...summary, meanIterationMs: 0 }, records }))
