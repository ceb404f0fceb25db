// prepare + simulate end to end on a small MNIST subset, with the shipped base model and a
// features cache in a temporary folder (CURATOR_CACHE_DIR).
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { initBackend } from '../../../src/main/engine/backend'
import { defaultBaseDir } from '../../../src/main/engine/base'
import { prepare, disposePrepared, defaultCacheDir, truthOf, Prepared } from '../../../src/main/engine/setup'
import { simulate } from '../../../src/main/engine/simulate'
import { featureSplitKey } from '../../../src/main/engine/featurizer'
import { CHECKING, loopConfigOf, warmUp, WARM_UP_ITERATIONS, type IterationRecord } from '../../../src/main/engine/loop'
import { Engine } from '../../../src/main/engine/engine'
import type { Answer } from '../../../src/main/engine/learner'
import { DEFAULT_CONFIG, SessionConfig, STRATEGIES, StrategyName } from '../../../src/shared/contract'
import { expectCuratorError, expectCuratorErrorAsync } from '../../helpers/errors'
import { tempDir } from '../../helpers/tmp'

const cache = tempDir('curator-cache-')
const savedCacheDir = process.env.CURATOR_CACHE_DIR
const config = (over: Partial<SessionConfig> = {}): SessionConfig => ({ ...DEFAULT_CONFIG, poolLimit: 1000, testLimit: 300, ...over })

beforeAll(async () => {
  process.env.CURATOR_CACHE_DIR = cache.dir
  expect(await initBackend()).toBe('wasm')
  const dir = defaultBaseDir()
  if (!existsSync(join(dir, 'model.json')))
    throw new Error(`The shipped base model is missing: no model.json in ${dir} (run \`curator pretrain\`)`)
})
afterAll(() => {
  if (savedCacheDir === undefined) delete process.env.CURATOR_CACHE_DIR
  else process.env.CURATOR_CACHE_DIR = savedCacheDir
  cache.remove()
})

interface Run {
  records: IterationRecord[]
  asked: number[]
}

async function run(
  p: Prepared,
  strategy: StrategyName,
  budget: number,
  batchSize = 4
): Promise<Run & { summary: Awaited<ReturnType<typeof simulate>> }> {
  const records: IterationRecord[] = []
  const asked: number[] = []
  const summary = await simulate(p, {
    strategy,
    batchSize,
    budget,
    onIteration: (r: IterationRecord, answers: Answer[]) => {
      records.push(r)
      asked.push(...answers.map((a) => a.id))
      // Every answer is the ground truth: odd digits positive.
      for (const a of answers) expect(a.value).toBe(p.dataset.pool.classes![a.id] % 2)
    }
  })
  return { records, asked, summary }
}

describe('prepare', () => {
  it('loads the subset and the base, featurizes once and then reads the cache', async () => {
    expect(defaultCacheDir()).toBe(cache.dir)
    const first = await prepare(config(), { backend: 'wasm' })
    expect(first.featuresCached).toBe(false)
    expect(first.dataset.pool.count).toBe(1000)
    expect(first.dataset.test!.count).toBe(300)
    expect(first.poolFeatures).toMatchObject({ count: 1000, dim: 10 })
    expect(first.testFeatures).toMatchObject({ count: 300, dim: 10 })
    expect(first.base.dir).toBe(defaultBaseDir())
    expect(first.base.hash).toBe(first.base.meta!.hash)
    // Softmax outputs: every row sums to 1.
    for (const i of [0, 500, 999])
      expect(first.poolFeatures.data.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4)
    // Ground truth: odd digits are positive.
    expect(Array.from(first.poolTruth!)).toEqual(Array.from(first.dataset.pool.classes!, (c) => c % 2))
    const files = readdirSync(join(cache.dir, 'features'))
    expect(files.sort()).toEqual([
      `${first.base.hash}-${first.dataset.hash}-${featureSplitKey('classes', first.featurizer)}-pool.f32`,
      `${first.base.hash}-${first.dataset.hash}-${featureSplitKey('classes', first.featurizer)}-test.f32`
    ])
    const second = await prepare(config({ strategy: 'random', seed: 9 }), { backend: 'wasm' })
    expect(second.featuresCached).toBe(true)
    expect(Array.from(second.poolFeatures.data)).toEqual(Array.from(first.poolFeatures.data))
    disposePrepared(first)
    disposePrepared(second)
  })

  it('rejects positive classes the dataset does not have', async () => {
    await expectCuratorErrorAsync(
      () => prepare(config({ task: { ...DEFAULT_CONFIG.task, positiveClasses: ['1', 'cat'] } }), { backend: 'wasm' }),
      'BAD_ARGUMENT',
      /Positive classes cat are not classes/
    )
  })

  it('truthOf maps classes to 1, 0 and -1', () => {
    const set = { classes: Int32Array.from([0, 1, 2, -1, 1]) } as never
    expect(Array.from(truthOf(set, ['a', 'b', 'c'], ['b'])!)).toEqual([0, 1, 0, -1, 1])
    expect(truthOf(set, ['a', 'b', 'c'], null)).toBeNull()
    expect(truthOf(null, ['a'], ['a'])).toBeNull()
    expectCuratorError(() => truthOf(set, ['a', 'b'], ['z']), 'BAD_ARGUMENT', /z are not classes of this dataset/)
  })
})

describe.each(STRATEGIES.map((s) => [s]))('simulate %s', (strategy: StrategyName) => {
  let p: Prepared
  beforeAll(async () => {
    p = await prepare(config({ strategy }), { backend: 'wasm' })
  })
  afterAll(() => disposePrepared(p))

  it('spends exactly the budget, and asks an image twice only to ask it again (a re-ask of an answer in doubt)', async () => {
    const { records, asked, summary } = await run(p, strategy, 24)
    expect(summary.answers).toBe(24)
    expect(summary.iterations).toBe(6)
    expect(asked).toHaveLength(24)
    expect(summary.labels).toBe(new Set(asked).size)
    // One record per iteration, the first before any label; each asks a batch of new images or re-asks.
    expect(records.map((r) => r.iteration)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(records.map((r) => r.answers)).toEqual([0, 4, 8, 12, 16, 20, 24])
    const before = new Set<number>()
    for (const r of records) {
      expect(r.next.ids).toHaveLength(4)
      for (const id of r.next.ids) expect(before.has(id)).toBe(r.next.reask?.includes(id) ?? false)
      // Only the checking strategies re-ask; the baselines never do.
      if (!CHECKING.includes(strategy)) expect(r.next.reask).toBeUndefined()
      r.next.ids.forEach((id) => before.add(id))
      expect(r.headWeights).toHaveLength(10)
      expect(Number.isFinite(r.headBias)).toBe(true)
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0)
      expect(r.iterationMs).toBeGreaterThanOrEqual(0)
      expect(r.next.p.every((v) => v >= 0 && v <= 1)).toBe(true)
    }
    expect(summary.finalTestAccuracy).toBe(records.at(-1)!.testAccuracy)
    // answersTo985: the answers given when test accuracy first reached 0.985, if it did.
    const reached = records.find((r) => r.testAccuracy! >= 0.985)
    expect(summary.answersTo985).toBe(reached ? reached.answers : null)
    expect(summary.labelsTo985).toBe(reached ? reached.labels : null)
  })

  it('stops at a budget that is not a multiple of the batch', async () => {
    const { asked, summary } = await run(p, strategy, 10)
    expect(summary.answers).toBe(10)
    expect(summary.labels).toBe(new Set(asked).size)
  })

  it('is deterministic: the same seed asks the same images', async () => {
    const a = await run(p, strategy, 12)
    const b = await run(p, strategy, 12)
    expect(b.asked).toEqual(a.asked)
    expect(b.records.map((r) => r.headWeights)).toEqual(a.records.map((r) => r.headWeights))
  })
})

describe('simulate with the shipped base', () => {
  it('the warm-up leaves the session as it was: the same records with it as without, and no tensors left behind', async () => {
    const cfg = config({ strategy: 'diverse' })
    const records = async (p: Prepared) => (await run(p, 'diverse', 40)).records.map(({ iterationMs: _, ...r }) => r)
    const without = await prepare(cfg, { backend: 'wasm' })
    const withIt = await prepare(cfg, { backend: 'wasm' })
    const tensors = tf.memory().numTensors
    await warmUp(withIt.learner, loopConfigOf(cfg, withIt.base))
    expect(tf.memory().numTensors).toBe(tensors)
    expect(await records(withIt)).toEqual(await records(without))
    disposePrepared(without)
    disposePrepared(withIt)
  })

  it("the studio's engine runs the warm-up a step at a time between calls after the first batch, and its session's iterations are the same as without", async () => {
    const cfg = config({ strategy: 'uncertainty' })
    const answers = (r: IterationRecord) => r.next.ids.map((id) => ({ id, value: (id % 2) as 0 | 1 }))
    const session = async (idleBetween: boolean) => {
      const e = new Engine()
      await e.open(cfg)
      // Not before the session's first batch: the warm-up must not delay it.
      expect(await e.idle()).toBe(false)
      const tensors = tf.memory().numTensors
      const batches: Answer[][] = []
      const out: unknown[] = []
      let steps = 0
      for (let it = 0; it < 6; it++) {
        const { iterationMs: _, ...r } = await e.iterate(batches, [])
        out.push(r)
        batches.push(answers(r as IterationRecord))
        // As the engine thread does while the labeller answers: warm-up steps between the calls.
        for (let k = 0; idleBetween && k < 30; k++) if (await e.idle()) steps++
      }
      const left = await e.idle()
      const leaked = tf.memory().numTensors - tensors
      e.close()
      return { out, steps, left, leaked }
    }
    const plain = await session(false)
    const warmed = await session(true)
    expect(warmed.out).toEqual(plain.out)
    // All WARM_UP_ITERATIONS ran (the last step says there is no more), and the throwaway is gone.
    expect(warmed.steps).toBe(WARM_UP_ITERATIONS - 1)
    expect(warmed.left).toBe(false)
    expect(warmed.leaked).toBeLessThanOrEqual(plain.leaked)
  })

  it('diverse covers the digits and learns parity from a handful of labels', async () => {
    const p = await prepare(config({ strategy: 'diverse' }), { backend: 'wasm' })
    const { asked, summary } = await run(p, 'diverse', 20)
    // The cold start asks one image of every digit within its first 12 questions.
    expect(new Set(asked.slice(0, 12).map((id) => p.dataset.pool.classes![id])).size).toBe(10)
    expect(summary.finalTestAccuracy!).toBeGreaterThan(0.95)
    disposePrepared(p)
  })

  it('unfreeze 1 trains the top layer on cached dense features', async () => {
    // A smaller subset keeps the featurizing short; the split point's own cache entry is new.
    const p = await prepare(config({ strategy: 'uncertainty', unfreeze: 1, poolLimit: 300, testLimit: 100 }), { backend: 'wasm' })
    expect(p.featuresCached).toBe(false)
    expect(p.poolFeatures.dim).toBe(128)
    expect(
      readdirSync(join(cache.dir, 'features')).filter((f) => f.includes(`-${p.dataset.hash}-${featureSplitKey('dense', p.featurizer)}-`))
    ).toHaveLength(2)
    const { asked, summary } = await run(p, 'uncertainty', 12)
    expect(summary.labels).toBe(12)
    expect(new Set(asked).size).toBe(12)
    disposePrepared(p)
  })

  it('unfreeze 3 trains on cached conv23 activations, shaped from the base input size (the base takes any size)', async () => {
    // This failed with "Tensor must have a shape comprised of positive integers but got shape [300,,,32]".
    const p = await prepare(config({ strategy: 'uncertainty', unfreeze: 3, poolLimit: 300, testLimit: 100 }), { backend: 'wasm' })
    expect(p.poolFeatures.dim).toBe(5 * 5 * 32)
    expect(p.learner.transfer.featureShape).toEqual([5, 5, 32])
    const { summary } = await run(p, 'uncertainty', 8)
    expect(summary.labels).toBe(8)
    disposePrepared(p)
  })

  it('a noisy labeller gives wrong answers by seeded draws, one per answer, and the budget counts every answer', async () => {
    const p = await prepare(config({ strategy: 'random', seed: 3 }), { backend: 'wasm' })
    const noisy = async (noise: number) => {
      const given: Answer[] = []
      const summary = await simulate(p, {
        strategy: 'random',
        batchSize: 4,
        budget: 200,
        noise,
        onIteration: (_r, answers) => void given.push(...answers)
      })
      return { given, summary }
    }
    const a = await noisy(0.2)
    const wrong = a.given.filter((x) => x.value !== p.poolTruth![x.id])
    expect(a.summary.answers).toBe(200)
    expect(a.given).toHaveLength(200)
    expect(a.summary.wrongAnswers).toBe(wrong.length)
    expect(wrong.length).toBeGreaterThan(20)
    expect(wrong.length).toBeLessThan(60)
    expect((await noisy(0.2)).given).toEqual(a.given)
    // Without noise every answer is the truth; the same images are asked (random picks do not read the answers).
    const clean = await noisy(0)
    expect(clean.summary.wrongAnswers).toBe(0)
    expect(clean.given.map((x) => x.id)).toEqual(a.given.map((x) => x.id))
    disposePrepared(p)
  })

  it('with re-asks turned off, answers in doubt are still found but never asked again', async () => {
    const p = await prepare(config({ seed: 2 }), { backend: 'wasm' })
    const runWith = async (reask: boolean) => {
      const records: IterationRecord[] = []
      await simulate(p, { strategy: 'diverse', batchSize: 4, budget: 60, noise: 0.2, reask, onIteration: (r) => void records.push(r) })
      return records
    }
    const on = await runWith(true)
    expect(on.some((r) => r.next.reask?.length)).toBe(true)
    const off = await runWith(false)
    expect(off.some((r) => r.suspects?.length)).toBe(true)
    expect(off.every((r) => r.next.reask === undefined)).toBe(true)
    disposePrepared(p)
  })

  it('refuses to simulate without ground truth', async () => {
    const p = await prepare(config({ task: { ...DEFAULT_CONFIG.task, positiveClasses: null } }), { backend: 'wasm' })
    expect(p.poolTruth).toBeNull()
    await expectCuratorErrorAsync(() => simulate(p, { strategy: 'random', batchSize: 4, budget: 8 }), 'BAD_DATA', /needs ground truth/)
    disposePrepared(p)
  })
})
