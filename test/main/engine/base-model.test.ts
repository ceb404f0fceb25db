import { describe, it, expect, beforeAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../src/main/engine/backend'
import { buildBaseModel, BASE_PARAMS } from '../../../src/main/engine/base-model'
import { loadMnist } from '../../../src/main/data/mnist'
import { toInputBuffer } from '../../../src/main/data/dataset'

beforeAll(async () => {
  expect(await initBackend()).toBe('wasm')
})

describe('the base network', () => {
  it('is the original architecture: 33,738 parameters, layer by layer', () => {
    const m = buildBaseModel(1)
    expect(BASE_PARAMS).toBe(33738)
    expect(m.countParams()).toBe(33738)
    // The original's table (seed/original-behaviour.md): output shapes for a 28x28 image and params.
    const rows = m.layers.slice(1).map((l) => [l.getClassName(), l.countParams()])
    expect(rows).toEqual([
      ['Conv2D', 448],
      ['Conv2D', 2320],
      ['Conv2D', 2320],
      ['MaxPooling2D', 0],
      ['Conv2D', 4640],
      ['Conv2D', 9248],
      ['Conv2D', 9248],
      ['GlobalMaxPooling2D', 0],
      ['Dense', 4224],
      ['Dense', 1290]
    ])
    const cfg = m.layers.slice(1).map((l) => l.getConfig())
    for (const c of cfg.filter((c) => 'kernelSize' in c)) {
      expect(c.kernelSize).toEqual([3, 3])
      expect(c.activation).toBe('relu')
      expect(c.padding).toBe('valid')
    }
    expect(cfg[8].activation).toBe('tanh')
    expect(cfg[9].activation).toBe('softmax')
    expect(m.inputs[0].shape).toEqual([null, null, null, 3])
    const shapes = tf.tidy(() => {
      const sub = tf.model({ inputs: m.inputs, outputs: m.layers.slice(1).map((l) => l.output as tf.SymbolicTensor) })
      return (sub.predict(tf.zeros([1, 28, 28, 3])) as tf.Tensor[]).map((t) => t.shape.slice(1))
    })
    expect(shapes).toEqual([[26, 26, 16], [24, 24, 16], [22, 22, 16], [11, 11, 16], [9, 9, 32], [7, 7, 32], [5, 5, 32], [32], [128], [10]])
  })

  it('accepts images of any size (20x20 and up) and gives a distribution over 10 classes', () => {
    const m = buildBaseModel(2)
    for (const [n, h, w] of [
      [3, 28, 28],
      [2, 40, 36],
      [1, 20, 23]
    ]) {
      const out = tf.tidy(() => (m.predict(tf.randomUniform([n, h, w, 3], 0, 1, 'float32', 5)) as tf.Tensor).arraySync() as number[][])
      expect([out.length, out[0].length]).toEqual([n, 10])
      for (const row of out) {
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
        expect(Math.min(...row)).toBeGreaterThan(0)
      }
    }
  })

  it('is seeded: the same seed builds the same weights, another seed other weights', () => {
    const flat = (m: tf.LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()))
    const a = flat(buildBaseModel(3))
    expect(flat(buildBaseModel(3))).toEqual(a)
    expect(flat(buildBaseModel(4))).not.toEqual(a)
  })

  it('trains on wasm: a few Adam steps on 256 MNIST images lower the loss', async () => {
    const ds = loadMnist({ pool: 256, test: 1 })
    const idx = Int32Array.from({ length: 256 }, (_, i) => i)
    const { data } = toInputBuffer(ds.pool, idx)
    const x = tf.tensor4d(data, [256, 28, 28, 3])
    const y = tf.tensor1d(Array.from(ds.pool.classes!), 'float32')
    const m = buildBaseModel(2)
    m.compile({ optimizer: tf.train.adam(0.003), loss: 'sparseCategoricalCrossentropy' })
    const before = (m.evaluate(x, y) as tf.Scalar).dataSync()[0]
    const kernelBefore = m.getLayer('conv11').getWeights()[0].dataSync().slice()
    // Two passes over the 256 images in batches of 64: 8 Adam steps.
    for (let step = 0; step < 8; step++) {
      const b = (step % 4) * 64
      await m.trainOnBatch(x.slice(b, 64), y.slice(b, 64))
    }
    const after = (m.evaluate(x, y) as tf.Scalar).dataSync()[0]
    expect(tf.getBackend()).toBe('wasm')
    expect(before).toBeGreaterThan(2)
    expect(after).toBeLessThan(before - 0.15) // about 2.30 -> 1.97
    // The first convolution learned too: its filter gradient is the one Curator registers.
    const kernelAfter = m.getLayer('conv11').getWeights()[0].dataSync()
    let moved = 0
    for (let i = 0; i < kernelAfter.length; i++) moved = Math.max(moved, Math.abs(kernelAfter[i] - kernelBefore[i]))
    expect(moved).toBeGreaterThan(1e-3)
    tf.dispose([x, y])
  })
})
