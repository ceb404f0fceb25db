// The split path (cached features -> suffix -> head) against the assembled full model
// (image -> base -> head), with the features computed by real worker threads.
import { describe, it, expect, beforeAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../src/main/engine/backend'
import { buildBaseModel } from '../../../src/main/engine/base-model'
import { buildTransfer, prefixModel, splitPoint, MAX_UNFREEZE } from '../../../src/main/engine/transfer'
import { featurize, FeatureMatrix } from '../../../src/main/engine/features'
import { Learner, Answer } from '../../../src/main/engine/learner'
import { loadModel, modelFiles, ModelFiles } from '../../../src/main/engine/model-io'
import { loadMnist } from '../../../src/main/data/mnist'
import { ImageSet, imagePixels, toInputBuffer } from '../../../src/main/data/dataset'
import type { FitName } from '../../../src/shared/contract'
import { expectCuratorError, expectCuratorErrorAsync } from '../../helpers/errors'

const BASE_SEED = 5
const ds = loadMnist({ pool: 160, test: 48 })
const pool = ds.pool
const test = ds.test!
const parity = (set: ImageSet) => Int8Array.from(set.classes!, (c) => c % 2)
let files: ModelFiles

/**
 * A freshly built, seeded, untrained base, with its last layer's weights scaled up: an untrained
 * softmax is nearly uniform (every image ~0.1 per class), which would make every prediction
 * alike and a mixed-up row undetectable. Scaled, images get distinct, peaked outputs.
 */
function freshBase(): tf.LayersModel {
  const base = buildBaseModel(BASE_SEED)
  const top = base.getLayer('classes')
  const [kernel, bias] = top.getWeights()
  top.setWeights([tf.mul(kernel, 20), bias])
  return base
}

beforeAll(async () => {
  expect(await initBackend()).toBe('wasm')
  files = await modelFiles(freshBase())
})

/** Images of one size as one input tensor. */
function imagesTensor(set: ImageSet): tf.Tensor4D {
  const idx = Int32Array.from({ length: set.count }, (_, i) => i)
  const { data, height, width } = toInputBuffer(set, idx)
  return tf.tensor4d(data, [set.count, height, width, 3])
}

/** The frozen prefix computed in this thread, for reference. */
function prefixFeatures(base: tf.LayersModel, unfreeze: number, set: ImageSet): FeatureMatrix {
  const data = tf.tidy(() => (prefixModel(base, unfreeze).predict(imagesTensor(set)) as tf.Tensor).dataSync() as Float32Array)
  return { count: set.count, dim: data.length / set.count, data }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]))
  return d
}

/** Batches of 4 answers from ground truth (odd = 1), mixing both classes. */
const answers = (ids: number[]): Answer[][] => {
  const truth = parity(pool)
  const out: Answer[][] = []
  for (let k = 0; k < ids.length; k += 4) out.push(ids.slice(k, k + 4).map((id) => ({ id, value: truth[id] as 0 | 1 })))
  return out
}
const BATCHES = answers([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])

describe('splitPoint and buildTransfer', () => {
  it('splits at the right layer and freezes everything below it', () => {
    const names: Record<number, [string, number[]]> = {
      0: ['classes', [10]],
      1: ['dense', [128]],
      2: ['global_maxpool', [32]],
      3: ['conv23', [5, 5, 32]],
      4: ['conv22', [7, 7, 32]]
    }
    for (let u = 0; u <= MAX_UNFREEZE; u++) {
      const base = buildBaseModel(1)
      const t = buildTransfer(base, u, 1, undefined, [28, 28])
      expect(t.splitName).toBe(names[u][0])
      expect(t.featureShape).toEqual(names[u][1])
      t.layers.forEach((l, i) => expect(l.trainable).toBe(i > t.splitIndex))
      // The head is 10 -> 1 for every split: it sits on the softmax outputs.
      expect(t.head.countParams()).toBe(11)
      expect(t.full.countParams()).toBe(33738 + 11)
      const trainable = t.suffix.trainableWeights.reduce((n, w) => n + w.shape.reduce((a, b) => a! * b!, 1)!, 0)
      const suffixParams = t.layers.slice(t.splitIndex + 1).reduce((n, l) => n + l.countParams(), 0)
      expect(trainable).toBe(suffixParams + 11)
    }
  })

  it('needs the image size where the split layer is spatial and the base takes any size', () => {
    // The digit CNN's input is [null, null, null, 3]: conv23's output shape comes from the images.
    expectCuratorError(() => buildTransfer(buildBaseModel(1), 3, 1), 'BAD_ARGUMENT', /no fixed shape; use --unfreeze 2 or less/)
    expect(buildTransfer(buildBaseModel(1), 3, 1, undefined, [40, 36]).featureShape).toEqual([11, 9, 32])
  })

  it('rejects an unfreeze count out of range', () => {
    const base = buildBaseModel(1)
    for (const u of [-1, 1.5, MAX_UNFREEZE + 1, NaN])
      expectCuratorError(() => splitPoint(base, u), 'BAD_ARGUMENT', /--unfreeze must be an integer from 0 to 4/)
  })
})

describe.each([0, 1, 2, 3, 4])('unfreeze %d', (unfreeze) => {
  let features: { pool: FeatureMatrix; test: FeatureMatrix }

  beforeAll(async () => {
    // The pool through the thread pool (checked below), the test split in this thread.
    features = {
      pool: await featurize(files, unfreeze, pool, { backend: 'wasm', threads: 2, jobSize: 48 }),
      test: prefixFeatures(await loadModel(files), unfreeze, test)
    }
  })

  it('featurize on worker threads equals the prefix model in this thread', async () => {
    // A base loaded from the same files, as the threads do (jobs of 48 split the pool 4 ways).
    const want = prefixFeatures(await loadModel(files), unfreeze, pool)
    const got = features.pool
    expect(got.count).toBe(pool.count)
    expect(got.dim).toBe([10, 128, 32, 800, 1568][unfreeze])
    expect(got.dim).toBe(want.dim)
    expect(maxDiff(got.data, want.data)).toBeLessThan(1e-5)
    // And the very base built in this thread, not loaded.
    expect(maxDiff(got.data, prefixFeatures(freshBase(), unfreeze, pool).data)).toBeLessThan(1e-5)
  })

  describe.each(['converge', 'original'] as FitName[])('fit %s', (fit) => {
    const learner = async (seed = 3) => {
      const base = await loadModel(files)
      return new Learner({
        base,
        unfreeze,
        inputSize: [28, 28],
        fit,
        seed,
        pool: features.pool,
        test: features.test,
        poolTruth: parity(pool),
        testTruth: parity(test)
      })
    }

    /** Full model (and the exported copy) against the split path, on the pool and the test split. */
    async function expectSamePredictions(l: Learner) {
      // The exported model (model.json + weights), loaded back as TF.js would.
      const exported = await loadModel(await modelFiles(l.fullModel))
      for (const [set, p] of [
        [pool, l.poolP],
        [test, l.testP!]
      ] as const) {
        const x = imagesTensor(set)
        const full = tf.tidy(() => (l.transfer.full.predict(x) as tf.Tensor).dataSync())
        expect(full.length).toBe(set.count)
        expect(maxDiff(full, p)).toBeLessThan(1e-5)
        const again = tf.tidy(() => (exported.predict(x) as tf.Tensor).dataSync())
        expect(maxDiff(again, p)).toBeLessThan(1e-5)
        x.dispose()
      }
    }

    it('the assembled full model predicts what the split path predicts, after fitting', async () => {
      const l = await learner()
      const before = l.poolP.slice()
      await l.fit(BATCHES)
      // Fitting moved the predictions, so this is not a comparison of two untouched models.
      expect(maxDiff(l.poolP, before)).toBeGreaterThan(1e-3)
      // Images get distinct predictions, far apart compared with the tolerance, so a row mixed up
      // between the two paths would show. (Through an unfrozen dense + softmax an untrained net
      // gives every image nearly the same p, so at unfreeze 2 this only checks the arithmetic.)
      if (unfreeze < 2) expect(Math.max(...l.poolP) - Math.min(...l.poolP)).toBeGreaterThan(5e-3)
      await expectSamePredictions(l)
      // Refitting on fewer answers (an undo) keeps them in step too. (For an unfrozen suffix
      // fitted to convergence that is the same code path again, 150 Adam steps: skipped for time.)
      if (fit === 'original' || unfreeze === 0) {
        await l.fit(BATCHES.slice(0, 1))
        await expectSamePredictions(l)
      }
      l.dispose()
    })

    it('the assembled full model predicts what the split path predicts, before any label', async () => {
      // What a session shows (and could export) before its first answer.
      const l = await learner()
      await expectSamePredictions(l)
      l.dispose()
    })

    it('is deterministic: two learners given the same answers end with identical weights', async () => {
      const a = await learner()
      const b = await learner()
      await a.fit(BATCHES)
      await b.fit(BATCHES)
      const wa = a.fullModel.getWeights().map((w) => Array.from(w.dataSync()))
      const wb = b.fullModel.getWeights().map((w) => Array.from(w.dataSync()))
      expect(wb).toEqual(wa)
      expect(Array.from(b.poolP)).toEqual(Array.from(a.poolP))
      expect(b.evaluate()).toEqual(a.evaluate())
      // Another seed starts from another head (the seed is the head's initialiser's), and one
      // Adam step per batch does not forget where it started.
      if (fit === 'original') {
        const c = await learner(4)
        await c.fit(BATCHES)
        expect(c.fullModel.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(wa)
        c.dispose()
      }
      // The frozen layers did not move.
      const base = await loadModel(files)
      const frozen = a.transfer.layers.slice(0, a.transfer.splitIndex + 1)
      for (const l of frozen) {
        const orig = base
          .getLayer(l.name)
          .getWeights()
          .map((w) => Array.from(w.dataSync()))
        expect(l.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(orig)
      }
      // The unfrozen ones (with weights: not the pooling) did.
      for (const l of a.transfer.layers.slice(a.transfer.splitIndex + 1).filter((l) => l.countParams() > 0)) {
        const orig = base
          .getLayer(l.name)
          .getWeights()
          .map((w) => Array.from(w.dataSync()))
        expect(l.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(orig)
      }
      a.dispose()
      b.dispose()
    })

    it('evaluates: accuracy, histogram and head weights have their shapes', async () => {
      const l = await learner()
      await l.fit(BATCHES)
      const e = l.evaluate()
      expect(e.headWeights).toHaveLength(10)
      expect(Number.isFinite(e.headBias)).toBe(true)
      expect(e.testAccuracy).toBeGreaterThanOrEqual(0)
      expect(e.testAccuracy).toBeLessThanOrEqual(1)
      expect(e.labelledAccuracy).toBeGreaterThanOrEqual(0)
      expect(e.histogram.counts).toHaveLength(11)
      expect(e.histogram.counts.reduce((a, b) => a + b, 0)).toBe(pool.count)
      const [neg, pos] = e.histogram.byTruth!
      const truth = parity(pool)
      expect(pos.reduce((a, b) => a + b, 0)).toBe(truth.filter((t) => t === 1).length)
      expect(neg.reduce((a, b) => a + b, 0)).toBe(truth.filter((t) => t === 0).length)
      // The test accuracy is the parity accuracy of testP.
      let right = 0
      parity(test).forEach((t, i) => (right += Number((l.testP![i] >= 0.5 ? 1 : 0) === t)))
      expect(e.testAccuracy).toBeCloseTo(right / test.count, 12)
      l.dispose()
    })
  })

  it("fit 'original': batch by batch equals all at once from scratch, and going back refits", async () => {
    const make = async () =>
      new Learner({
        base: await loadModel(files),
        unfreeze,
        inputSize: [28, 28],
        fit: 'original',
        seed: 3,
        pool: features.pool,
        test: features.test,
        poolTruth: parity(pool),
        testTruth: parity(test)
      })
    const stepwise = await make()
    for (let k = 1; k <= BATCHES.length; k++) await stepwise.fit(BATCHES.slice(0, k))
    const once = await make()
    await once.fit(BATCHES)
    const weights = (l: Learner) => l.fullModel.getWeights().map((w) => Array.from(w.dataSync()))
    expect(weights(stepwise)).toEqual(weights(once))
    expect(Array.from(stepwise.poolP)).toEqual(Array.from(once.poolP))
    // Undo: back to one batch equals a fresh learner that saw only that batch.
    await stepwise.fit(BATCHES.slice(0, 1))
    const first = await make()
    await first.fit(BATCHES.slice(0, 1))
    expect(weights(stepwise)).toEqual(weights(first))
    // And one step per batch: after 3 batches the head differs from after 1.
    expect(weights(once)).not.toEqual(weights(first))
    for (const l of [stepwise, once, first]) l.dispose()
  })
})

describe('featurize', () => {
  /** MNIST images, some padded to 40x36, interleaved: a set of mixed sizes. */
  function mixed(n: number): ImageSet {
    const sizes = Array.from({ length: n }, (_, i) => (i % 3 === 1 ? [40, 36] : [28, 28]))
    const total = sizes.reduce((s, [h, w]) => s + h * w, 0)
    const pixels = new Uint8Array(total)
    const offsets = new Float64Array(n)
    let o = 0
    for (let i = 0; i < n; i++) {
      const [h, w] = sizes[i]
      offsets[i] = o
      const src = imagePixels(pool, i)
      for (let r = 0; r < 28; r++)
        for (let c = 0; c < 28; c++) pixels[o + (r + ((h - 28) >> 1)) * w + c + ((w - 28) >> 1)] = src[r * 28 + c]
      o += h * w
    }
    return {
      count: n,
      pixels,
      offsets,
      heights: Uint16Array.from(sizes, (s) => s[0]),
      widths: Uint16Array.from(sizes, (s) => s[1]),
      channels: new Uint8Array(n).fill(1),
      classes: null
    }
  }

  it('puts each image of a mixed-size set back in its own row, reporting progress', async () => {
    const set = mixed(90)
    const seen: number[] = []
    const got = await featurize(files, 0, set, { backend: 'wasm', threads: 2, jobSize: 16, onProgress: (p) => seen.push(p.done) })
    expect(got.count).toBe(90)
    expect(got.dim).toBe(10)
    expect(seen.at(-1)).toBe(90)
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
    const base = await loadModel(files)
    for (const i of [0, 1, 2, 40, 88, 89]) {
      const [h, w] = [set.heights[i], set.widths[i]]
      const { data } = toInputBuffer(set, [i])
      const want = tf.tidy(() => (base.predict(tf.tensor4d(data, [1, h, w, 3])) as tf.Tensor).dataSync())
      expect(maxDiff(got.data.subarray(i * 10, i * 10 + 10), want)).toBeLessThan(1e-5)
    }
  })

  it('refuses spatial features (unfreeze 3) of mixed sizes', async () => {
    await expectCuratorErrorAsync(
      () => featurize(files, 3, mixed(30), { backend: 'wasm', threads: 1, jobSize: 8 }),
      'BAD_DATA',
      /different sizes/
    )
  })

  it('can be cancelled', async () => {
    let calls = 0
    await expectCuratorErrorAsync(
      () => featurize(files, 0, headOfPool(200), { backend: 'wasm', threads: 1, jobSize: 20, shouldStop: () => ++calls > 2 }),
      'CANCELLED',
      /cancelled/
    )
  })
})

function headOfPool(n: number): ImageSet {
  return {
    ...pool,
    count: n,
    offsets: pool.offsets.subarray(0, n),
    widths: pool.widths.subarray(0, n),
    heights: pool.heights.subarray(0, n),
    channels: pool.channels.subarray(0, n),
    classes: pool.classes!.subarray(0, n)
  }
}
