// The wasm backend trains CNNs only through the Conv2D gradient Curator registers; these tests
// check that gradient against a numeric gradient and against TF.js's own CPU kernels.
import { describe, it, expect, beforeAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { existsSync, readFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import {
  initBackend,
  backendName,
  conv2dFilterGradient,
  conv2dInputGradient,
  unpackedPath,
  wasmBinaryDir,
  wasmFailedNotice
} from '../../../src/main/engine/backend'
import { Rng } from '../../../src/main/util/rng'

type Pad = 'valid' | 'same' | number

const uniform = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1)
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1)

function outShape(xShape: number[], fShape: number[], pad: Pad): number[] {
  const [n, h, w] = xShape
  const [kh, kw, , co] = fShape
  if (pad === 'same') return [n, h, w, co]
  const p = pad === 'valid' ? 0 : pad
  return [n, h + 2 * p - kh + 1, w + 2 * p - kw + 1, co]
}

interface Case {
  name: string
  xShape: [number, number, number, number]
  fShape: [number, number, number, number]
  pad: Pad
}

const cases: Case[] = [
  { name: 'valid 3x3', xShape: [2, 6, 6, 3], fShape: [3, 3, 3, 4], pad: 'valid' },
  { name: 'same 3x3', xShape: [2, 6, 6, 3], fShape: [3, 3, 3, 4], pad: 'same' },
  // An even, non-square kernel pads asymmetrically under 'same' (TF puts the extra row at the bottom).
  { name: 'same 2x3, non-square input', xShape: [2, 5, 7, 2], fShape: [2, 3, 2, 3], pad: 'same' },
  { name: 'valid 3x2, non-square input', xShape: [1, 7, 5, 2], fShape: [3, 2, 2, 3], pad: 'valid' }
]

/** The numbers a case needs: x, filter and a fixed random weighting r of the output. */
function data(c: Case, seed: number) {
  const rng = new Rng(seed)
  return { x: uniform(rng, size(c.xShape)), f: uniform(rng, size(c.fShape)), r: uniform(rng, size(outShape(c.xShape, c.fShape, c.pad))) }
}

/** loss(x, w) = sum(conv2d(x, w) * r), evaluated by TF on the current backend. */
function loss(c: Case, x: Float32Array, f: Float32Array, r: Float32Array): number {
  return tf.tidy(() => {
    const y = tf.conv2d(tf.tensor4d(x, c.xShape), tf.tensor4d(f, c.fShape), 1, c.pad as 'valid')
    return tf.sum(tf.mul(y, tf.tensor(r, y.shape))).dataSync()[0]
  })
}

/** Central finite differences of loss with respect to every entry of one argument. */
function numericGradient(c: Case, d: { x: Float32Array; f: Float32Array; r: Float32Array }, wrt: 'x' | 'f', eps = 1e-2): Float64Array {
  const v = d[wrt].slice()
  const g = new Float64Array(v.length)
  for (let i = 0; i < v.length; i++) {
    const keep = v[i]
    v[i] = keep + eps
    const up = wrt === 'x' ? loss(c, v, d.f, d.r) : loss(c, d.x, v, d.r)
    v[i] = keep - eps
    const down = wrt === 'x' ? loss(c, v, d.f, d.r) : loss(c, d.x, v, d.r)
    v[i] = keep
    g[i] = (up - down) / (2 * eps)
  }
  return g
}

/** Largest elementwise error relative to the gradient's largest entry. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let err = 0
  let scale = 0
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]))
    scale = Math.max(scale, Math.abs(b[i]))
  }
  expect(scale).toBeGreaterThan(0.1) // a zero gradient would match anything
  return err / scale
}

beforeAll(async () => {
  expect(await initBackend()).toBe('wasm')
})

describe('initBackend', () => {
  it('picks wasm here (tfjs-node is not installed) and reports it', async () => {
    expect(await initBackend()).toBe('wasm')
    expect(backendName()).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
  })

  it('is idempotent', async () => {
    const a = initBackend()
    expect(initBackend()).toBe(a)
    expect(await a).toBe('wasm')
  })
})

describe('the wasm binaries by path (a packaged app reads them outside the asar)', () => {
  it('wasmBinaryDir is the folder the backend loaded its binaries from here', () => {
    const dir = wasmBinaryDir()
    expect(dir.endsWith(sep)).toBe(true)
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) expect(existsSync(join(dir, f)), f).toBe(true)
  })

  it('inside app.asar it points into app.asar.unpacked, where asarUnpack puts the .wasm files', () => {
    const packaged = '/opt/Curator/resources/app.asar/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js'
    expect(wasmBinaryDir(() => packaged)).toBe(
      `/opt/Curator/resources/app.asar.unpacked/node_modules/@tensorflow/tfjs-backend-wasm/dist${sep}`
    )
    expect(unpackedPath('C:\\Program Files\\Curator\\resources\\app.asar\\node_modules')).toBe(
      'C:\\Program Files\\Curator\\resources\\app.asar.unpacked\\node_modules'
    )
    expect(unpackedPath('/opt/Curator/resources/app.asar.unpacked/x')).toBe('/opt/Curator/resources/app.asar.unpacked/x')
    expect(unpackedPath('/home/me/curator/node_modules/x')).toBe('/home/me/curator/node_modules/x')
    // And the builder config unpacks exactly those files.
    expect(readFileSync(join(__dirname, '../../../electron-builder.yml'), 'utf8')).toContain(
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm'
    )
  })

  it('a failed WebAssembly load is said, never a silent drop to plain JavaScript', () => {
    expect(wasmFailedNotice(null, 'no SIMD')).toBe('using plain JavaScript (slow): WebAssembly failed to load (no SIMD)')
    expect(wasmFailedNotice('tfjs-node not installed; using plain JavaScript (slow)', 'ENOENT')).toBe(
      'tfjs-node not installed; using plain JavaScript (slow): WebAssembly failed to load (ENOENT)'
    )
  })
})

describe('Conv2D gradient on wasm', () => {
  for (const c of cases) {
    it(`${c.name}: tf.grads matches the numeric gradient for the filter and the input`, () => {
      const d = data(c, 7)
      const [gx, gf] = tf.tidy(() => {
        const r = tf.tensor(d.r, outShape(c.xShape, c.fShape, c.pad))
        const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, c.pad as 'valid'), r))
        return tf
          .grads(f)([tf.tensor4d(d.x, c.xShape), tf.tensor4d(d.f, c.fShape)])
          .map((t) => t.dataSync().slice())
      })
      expect(tf.getBackend()).toBe('wasm')
      expect(relativeError(gf, numericGradient(c, d, 'f'))).toBeLessThan(1e-2)
      expect(relativeError(gx, numericGradient(c, d, 'x'))).toBeLessThan(1e-2)
    })
  }

  it('tf.variableGrads through a relu conv2d layer (as in the base model) matches the numeric gradient', () => {
    // Layers with a relu activation run an unfused Conv2D under a gradient tape, so Curator's
    // registered gradient is the one used. (A linear-activation conv2d layer takes the fused
    // path, whose own gradient calls Conv2DBackpropFilter directly: see the report.)
    const c = cases[0]
    const d = data(c, 11)
    const rng = new Rng(12)
    const bias = Float32Array.from({ length: 4 }, () => rng.next() - 0.5)
    const layer = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'valid', activation: 'relu' })
    layer.build([null, 6, 6, 3])
    const setFilter = (f: Float32Array) => tf.tidy(() => layer.setWeights([tf.tensor4d(f, c.fShape), tf.tensor1d(bias)]))
    setFilter(d.f)
    const r = tf.tensor(d.r, outShape(c.xShape, c.fShape, c.pad))
    const x = tf.tensor4d(d.x, c.xShape)
    const f = () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar
    const kernel = (layer.trainableWeights[0] as unknown as { val: tf.Variable }).val
    const g = tf.tidy(() => tf.variableGrads(f, [kernel]).grads[kernel.name].dataSync().slice())
    const numeric = new Float64Array(d.f.length)
    const w = d.f.slice()
    const eps = 1e-3
    for (let i = 0; i < w.length; i++) {
      const keep = w[i]
      w[i] = keep + eps
      setFilter(w)
      const up = tf.tidy(() => f().dataSync()[0])
      w[i] = keep - eps
      setFilter(w)
      const down = tf.tidy(() => f().dataSync()[0])
      w[i] = keep
      numeric[i] = (up - down) / (2 * eps)
    }
    expect(relativeError(g, numeric)).toBeLessThan(1e-2)
    tf.dispose([r, x])
    for (const v of layer.weights) v.dispose()
  })

  it('the gradient functions leak no tensors', () => {
    const c = cases[1]
    const d = data(c, 3)
    const x = tf.tensor4d(d.x, c.xShape)
    const w = tf.tensor4d(d.f, c.fShape)
    const dy = tf.tensor4d(d.r, outShape(c.xShape, c.fShape, c.pad) as [number, number, number, number])
    const before = tf.memory().numTensors
    const a = conv2dFilterGradient(x, dy, c.fShape, c.pad)
    const b = conv2dInputGradient(dy, w, c.pad)
    expect(tf.memory().numTensors).toBe(before + 2)
    expect(a.shape).toEqual(c.fShape)
    expect(b.shape).toEqual(c.xShape)
    tf.dispose([x, w, dy, a, b])
  })
})

describe("conv2dFilterGradient / conv2dInputGradient against TF's CPU kernels", () => {
  const kernelCases: Case[] = [...cases, { name: 'explicit pad 1', xShape: [2, 5, 6, 3], fShape: [3, 3, 3, 2], pad: 1 }]

  /** Conv2DBackpropFilter / Conv2DBackpropInput of the CPU backend. */
  async function cpuKernels(c: Case, d: { x: Float32Array; f: Float32Array; r: Float32Array }) {
    expect(await tf.setBackend('cpu')).toBe(true)
    try {
      return tf.tidy(() => {
        const x = tf.tensor4d(d.x, c.xShape)
        const w = tf.tensor4d(d.f, c.fShape)
        const dy = tf.tensor(d.r, outShape(c.xShape, c.fShape, c.pad))
        const common = { strides: [1, 1], pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined }
        const engine = tf.engine()
        const filter = engine.runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: c.fShape } as never) as tf.Tensor
        const input = engine.runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...common, inputShape: c.xShape } as never) as tf.Tensor
        expect(tf.getBackend()).toBe('cpu')
        return { filter: filter.dataSync().slice(), input: input.dataSync().slice() }
      })
    } finally {
      expect(await tf.setBackend('wasm')).toBe(true)
    }
  }

  for (const c of kernelCases) {
    it(c.name, async () => {
      const d = data(c, 5)
      const want = await cpuKernels(c, d)
      expect(tf.getBackend()).toBe('wasm')
      const got = tf.tidy(() => {
        const x = tf.tensor4d(d.x, c.xShape)
        const w = tf.tensor4d(d.f, c.fShape)
        const dy = tf.tensor4d(d.r, outShape(c.xShape, c.fShape, c.pad) as [number, number, number, number])
        return {
          filter: conv2dFilterGradient(x, dy, c.fShape, c.pad).dataSync().slice(),
          input: conv2dInputGradient(dy, w, c.pad).dataSync().slice()
        }
      })
      expect(relativeError(got.filter, want.filter)).toBeLessThan(1e-5)
      expect(relativeError(got.input, want.input)).toBeLessThan(1e-5)
    })
  }
})
