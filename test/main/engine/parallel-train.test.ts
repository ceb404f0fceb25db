import { describe, it, expect, beforeAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../src/main/engine/backend'
import { buildBaseModel } from '../../../src/main/engine/base-model'
import { defaultTrainer, ParallelTrainer, readTrainable, tfjsGradient, trainLayers } from '../../../src/main/engine/parallel-train'
import { classAccuracy, LR_DECAY, pretrain } from '../../../src/main/engine/pretrain'
import { loadMnist } from '../../../src/main/data/mnist'
import { groupBySize, pickImages, toInputBuffer, type ImageSet } from '../../../src/main/data/dataset'
import { Rng } from '../../../src/main/util/rng'
import { nchwcBlockSize, ortSession, requireOrt } from '../../../src/main/engine/featurizer'
import { IMAGE, ONEHOT, trainGraph, type TrainLayer } from '../../../src/main/onnx/train-graph'
import type * as Ort from 'onnxruntime-node'

const ds = loadMnist({ pool: 1024, test: 500 })
const first = (n: number) => Int32Array.from({ length: n }, (_, i) => i)

beforeAll(async () => {
  expect(await initBackend()).toBe('wasm')
})

/** TF.js's own Keras path: compile with Adam and trainOnBatch. */
async function kerasStep(model: tf.LayersModel, set: ImageSet, idx: Int32Array): Promise<number> {
  const { data } = toInputBuffer(set, idx)
  const x = tf.tensor4d(data, [idx.length, 28, 28, 3])
  const y = tf.tensor1d(
    Array.from(idx, (i) => set.classes![i]),
    'float32'
  )
  const loss = (await model.trainOnBatch(x, y)) as number
  tf.dispose([x, y])
  return loss
}

describe('ParallelTrainer', () => {
  it('takes the step TF.js trainOnBatch takes, on batches split into uneven shards', async () => {
    const ours = buildBaseModel(5)
    const theirs = buildBaseModel(5)
    theirs.compile({ optimizer: tf.train.adam(0.001), loss: 'sparseCategoricalCrossentropy' })
    const trainer = new ParallelTrainer(ours, { batchSize: 100, learningRate: 0.001, threads: 2, backend: 'wasm', engine: 'tfjs' })
    try {
      // 100 images: shards of 32, 32, 32 and 4, weighed by their sizes.
      for (const idx of [first(100), first(100).map((i) => i + 100)]) {
        const { loss } = await trainer.step(ds.pool, idx)
        const kerasLoss = await kerasStep(theirs, ds.pool, idx)
        expect(loss).toBeCloseTo(kerasLoss, 4)
      }
      const a = trainer.weights
      const b = readTrainable(theirs)
      let worst = 0
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]))
      expect(worst).toBeLessThan(1e-5)
      trainer.writeWeights()
      expect(readTrainable(ours)).toEqual(trainer.weights)
    } finally {
      await trainer.dispose()
    }
  })

  it.each(['tfjs', 'onnxruntime'] as const)('trains the same model on one thread as on two (%s)', async (engine) => {
    const run = async (threads: number) => {
      const trainer = new ParallelTrainer(buildBaseModel(2), { batchSize: 128, learningRate: 0.003, threads, backend: 'wasm', engine })
      try {
        expect(trainer.threads).toBe(threads)
        for (let b = 0; b < 3; b++)
          await trainer.step(
            ds.pool,
            first(128).map((i) => i + 128 * b)
          )
        return Array.from(trainer.weights)
      } finally {
        await trainer.dispose()
      }
    }
    expect(await run(2)).toEqual(await run(1))
  })

  /** The gradients both engines give at the model's weights, on the images idx. */
  async function bothGradients(model: tf.LayersModel, idx: Int32Array) {
    const out = []
    for (const engine of ['tfjs', 'onnxruntime'] as const) {
      const trainer = new ParallelTrainer(model, { batchSize: idx.length, learningRate: 0.001, threads: 2, backend: 'wasm', engine })
      try {
        out.push(await trainer.gradient(ds.pool, idx))
      } finally {
        await trainer.dispose()
      }
    }
    return out
  }

  const worstDifference = (a: Float64Array, b: Float64Array) => a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i])), 0)

  it('computes on ONNX Runtime the gradients TF.js computes, loss and hits too', async () => {
    const model = buildBaseModel(4)
    // Away from the initial weights too (biases no longer 0): after a few steps.
    const warm = new ParallelTrainer(model, { batchSize: 128, learningRate: 0.01, threads: 1, backend: 'wasm', engine: 'tfjs' })
    for (let b = 0; b < 3; b++)
      await warm.step(
        ds.pool,
        first(128).map((i) => i + 300 + 128 * b)
      )
    warm.writeWeights()
    await warm.dispose()
    const [tfjs, ort] = await bothGradients(model, first(100))
    const largest = tfjs.gradient.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
    expect(largest).toBeGreaterThan(1e-3)
    expect(worstDifference(tfjs.gradient, ort.gradient)).toBeLessThan(1e-6)
    expect(ort.loss).toBeCloseTo(tfjs.loss, 5)
    expect(ort.accuracy).toBe(tfjs.accuracy)
  })

  // Filters in multiples of ONNX Runtime's NCHWc block (8 or 16) train in its blocked layout; others in plain NCHW.
  // (Fewer images for the wider one: TF.js's CPU backend computes the reference.)
  it.each([
    ['plain', [4, 6, 5], 96],
    ['blocked', [16, 32, 16], 40]
  ] as const)(
    'takes same padding, linear convolutions, pools that leave pixels over and hidden ReLU layers (%s)',
    async (_, filters, images) => {
      const init = (seed: number) => tf.initializers.glorotUniform({ seed })
      const input = tf.input({ shape: [28, 28, 3] })
      let x = tf.layers
        .conv2d({ filters: filters[0], kernelSize: 3, activation: 'relu', kernelInitializer: init(1) })
        .apply(input) as tf.SymbolicTensor
      x = tf.layers
        .conv2d({ filters: filters[1], kernelSize: [3, 2], padding: 'same', kernelInitializer: init(2) })
        .apply(x) as tf.SymbolicTensor
      x = tf.layers.maxPooling2d({ poolSize: 3 }).apply(x) as tf.SymbolicTensor // 26 = 8 x 3 + 2
      x = tf.layers
        .conv2d({ filters: filters[2], kernelSize: 2, activation: 'relu', kernelInitializer: init(3) })
        .apply(x) as tf.SymbolicTensor
      x = tf.layers.globalMaxPooling2d({}).apply(x) as tf.SymbolicTensor
      x = tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(4) }).apply(x) as tf.SymbolicTensor
      const out = tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(5) }).apply(x) as tf.SymbolicTensor
      const model = tf.model({ inputs: input, outputs: out })
      const trainer = new ParallelTrainer(model, {
        batchSize: images,
        learningRate: 0.001,
        threads: 2,
        backend: 'wasm',
        engine: 'onnxruntime'
      })
      const ort = await trainer.gradient(ds.pool, first(images)).finally(() => trainer.dispose())
      // The reference on the CPU backend: TF.js on wasm fuses a linear convolution and has no gradient kernel for it.
      await tf.setBackend('cpu')
      try {
        const reference = tfjsGradient(model, pickImages(ds.pool, first(images)), 0)
        expect(worstDifference(Float64Array.from(reference.gradient), ort.gradient)).toBeLessThan(1e-6)
        expect(ort.loss).toBeCloseTo(reference.lossSum / images, 5)
      } finally {
        await tf.setBackend('wasm')
      }
    }
  )

  it('trains the base in the blocked layout where ONNX Runtime has one, with the gradients of the plain graph', async () => {
    const block = await nchwcBlockSize()
    // x64 (AVX2 or AVX-512) and Arm builds of ONNX Runtime have blocked kernels.
    expect(block).toBeGreaterThan(1)
    const model = buildBaseModel(6)
    const layers = trainLayers(model) as TrainLayer[]
    const ortRuntime = requireOrt()
    const count = 40
    const { data } = toInputBuffer(ds.pool, first(count))
    const onehot = new Float32Array(count * 10)
    first(count).forEach((i) => (onehot[i * 10 + ds.pool.classes![i]] = 1))
    const feeds: Record<string, Ort.Tensor> = {
      [IMAGE]: new ortRuntime.Tensor('float32', data, [count, 28, 28, 3]),
      [ONEHOT]: new ortRuntime.Tensor('float32', onehot, [count, 10])
    }
    model.trainableWeights.forEach(
      (w, k) => (feeds[`w${k}`] = new ortRuntime.Tensor('float32', w.read().dataSync() as Float32Array, w.read().shape))
    )
    const run = async (b: number) => (await ortSession(trainGraph(layers, [28, 28, 3], b))).run(feeds)
    const [plain, blocked] = [await run(1), await run(block)]
    for (const name of Object.keys(plain)) {
      const p = plain[name].data as Float32Array
      const q = blocked[name].data as Float32Array
      expect(q.length).toBe(p.length)
      expect(worstDifference(Float64Array.from(p), Float64Array.from(q))).toBeLessThan(1e-6)
    }
    // The blocked graph is a different graph: ONNX Runtime's blocked operators.
    expect(new TextDecoder().decode(trainGraph(layers, [28, 28, 3], block))).toContain('com.microsoft.nchwc')
    expect(new TextDecoder().decode(trainGraph(layers, [28, 28, 3], 1))).not.toContain('com.microsoft.nchwc')
  })

  it('trains on TF.js what the ONNX training graph does not take', () => {
    const input = tf.input({ shape: [28, 28, 3] })
    const pooled = tf.layers.globalMaxPooling2d({}).apply(input) as tf.SymbolicTensor
    const sigmoid = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 1, activation: 'sigmoid' }).apply(pooled) as tf.SymbolicTensor
    })
    expect(trainLayers(sigmoid)).toMatch(/: activation sigmoid$/)
    expect(defaultTrainer('wasm', sigmoid)).toBe('tfjs')
    expect(trainLayers(buildBaseModel(1))).toHaveLength(10)
    expect(defaultTrainer('wasm', buildBaseModel(1))).toBe('onnxruntime')
    expect(defaultTrainer('tensorflow', buildBaseModel(1))).toBe('tfjs')
  })

  it('pretrains on two threads (ONNX Runtime) to the accuracy TF.js trainOnBatch reaches', async () => {
    const opts = { epochs: 3, seed: 7, batchSize: 128, learningRate: 0.003, threads: 2 }
    const a = await pretrain(ds.pool, ds.test!, opts)
    expect(a.threads).toBe(2)
    expect(a.trainer).toBe('onnxruntime') // where it loads, on wasm
    // The Keras reference on the same seed, shuffles and batches.
    const model = buildBaseModel(7)
    const optimizer = tf.train.adam(opts.learningRate)
    model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' })
    const rng = new Rng(7)
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      ;(optimizer as unknown as { learningRate: number }).learningRate = opts.learningRate * LR_DECAY ** epoch
      for (const group of groupBySize(ds.pool)) {
        rng.shuffle(group)
        for (let s = 0; s < group.length; s += 128) await kerasStep(model, ds.pool, group.subarray(s, s + 128))
      }
    }
    const reference = classAccuracy(model, ds.test!)
    expect(reference).toBeGreaterThan(0.4)
    expect(Math.abs(a.testAccuracy - reference)).toBeLessThan(0.03)
    a.model.dispose()
    model.dispose()
  })
})
