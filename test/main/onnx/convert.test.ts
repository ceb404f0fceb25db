// The ONNX builder against TF.js itself: the model files are converted, run in ONNX Runtime
// (onnxruntime-node, CPU) and compared with TF.js's predictions on the same inputs: the digit
// CNN + head on 1,000 MNIST test images, its prefixes (the featurizers), other image sizes,
// nsfwjs's quantized MobileNetV2 (ZeroPadding2D, DepthwiseConv2D, BatchNormalization, ReLU6,
// Add, ...), a model made of the remaining layer types, and the errors for what cannot be exported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import * as ort from 'onnxruntime-node'
import { onnx } from 'onnx-proto'
import { loadMnist } from '../../../src/main/data/mnist'
import { toInputBuffer } from '../../../src/main/data/dataset'
import { initBackend } from '../../../src/main/engine/backend'
import { defaultBaseDir } from '../../../src/main/engine/base'
import { loadModel, modelFiles, ModelFiles, readModelFiles } from '../../../src/main/engine/model-io'
import { Rng } from '../../../src/main/util/rng'
import { buildTransfer } from '../../../src/main/engine/transfer'
import { ONNX_OPSET, tfjsToOnnx } from '../../../src/main/onnx/convert'
import { expectCuratorError } from '../../helpers/errors'
import { ROOT } from '../export/cli'

const IMAGES = 1000

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}
const maxAbs = (a: ArrayLike<number>) => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]))
  return m
}

async function runOnnx(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes)
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, dims) })
    const t = out[session.outputNames[0]]
    return { data: t.data as Float32Array, dims: t.dims }
  } finally {
    await session.release()
  }
}

function runTf(model: tf.LayersModel, input: Float32Array, dims: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(input, dims)) as tf.Tensor).dataSync() as Float32Array)
}

const randomInput = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.next())

let digits: { data: Float32Array; dims: number[] }
let transfer: ReturnType<typeof buildTransfer>
let files: ModelFiles

beforeAll(async () => {
  await initBackend()
  const ds = loadMnist({ pool: 1, test: IMAGES })
  const idx = Int32Array.from({ length: IMAGES }, (_, i) => i)
  const { data, height, width } = toInputBuffer(ds.test!, idx)
  digits = { data, dims: [IMAGES, height, width, 3] }
  // The shipped base with a head whose weights spread P over (0, 1), as a trained one does.
  const base = await loadModel(readModelFiles(defaultBaseDir()))
  transfer = buildTransfer(base, 0, 1)
  const rng = new Rng(7)
  const [kernel, bias] = transfer.head.getWeights()
  transfer.head.setWeights([
    tf.tensor(
      Float32Array.from({ length: kernel.size }, () => rng.next() * 12 - 6),
      kernel.shape
    ),
    tf.tensor([0.3], bias.shape)
  ])
  files = await modelFiles(transfer.full)
})

afterAll(() => transfer?.full.dispose())

describe('the digit CNN + head in ONNX Runtime', () => {
  it('agrees with TF.js on 1,000 MNIST test images (|dP| < 1e-4)', async () => {
    const bytes = tfjsToOnnx(files, { inputName: 'image', outputName: 'p' })
    const fromOnnx = await runOnnx(bytes, digits.data, digits.dims)
    const fromTf = runTf(transfer.full, digits.data, digits.dims)
    expect(fromOnnx.dims).toEqual([IMAGES, 1])
    const d = maxAbsDiff(fromOnnx.data, fromTf)
    console.log(`digit CNN + head, ${IMAGES} MNIST test images: max |dP| = ${d.toExponential(2)}`)
    expect(d).toBeLessThan(1e-4)
    // Not a degenerate head: the images fall on both sides of 0.5.
    const positives = fromTf.filter((p) => p >= 0.5).length
    expect(positives).toBeGreaterThan(100)
    expect(positives).toBeLessThan(IMAGES - 100)
  })

  it('is a valid opset-13 model with the input stated and the metadata kept', () => {
    const m = onnx.ModelProto.decode(tfjsToOnnx(files, { inputName: 'image', metadata: { preprocessing: 'pixels / 255', layout: 'NHWC' } }))
    expect(Number(m.opsetImport[0].version)).toBe(ONNX_OPSET)
    const input = m.graph!.input![0]
    expect(input.name).toBe('image')
    expect(input.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 'height', 'width', 3])
    expect(Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]))).toEqual({ preprocessing: 'pixels / 255', layout: 'NHWC' })
    const ops = new Set(m.graph!.node!.map((n) => n.opType))
    for (const op of ['Conv', 'MaxPool', 'GlobalMaxPool', 'Gemm', 'Relu', 'Tanh', 'Softmax', 'Sigmoid']) expect(ops).toContain(op)
  })

  it('any prefix is a featurizer matching the TF.js layer output, in NHWC', async () => {
    const n = 200
    const input = digits.data.subarray(0, n * 28 * 28 * 3)
    for (const layer of ['conv11', 'maxpool', 'conv22', 'global_maxpool', 'dense', 'classes']) {
      const prefix = tf.model({ inputs: transfer.base.inputs, outputs: transfer.base.getLayer(layer).output as tf.SymbolicTensor })
      const want = runTf(prefix, input, [n, 28, 28, 3])
      const got = await runOnnx(tfjsToOnnx(files, { upTo: layer }), input, [n, 28, 28, 3])
      expect(got.dims).toEqual((prefix.outputs[0].shape as number[]).map((d, i) => (i === 0 ? n : (d ?? got.dims[i]))))
      expect(got.dims.slice(1)).toEqual(
        ((transfer.base.getLayer(layer).outputShape as number[]).slice(1) as (number | null)[]).map((d, i) => d ?? got.dims[i + 1])
      )
      const d = maxAbsDiff(got.data, want)
      expect(d, `${layer}: max |d| ${d} of values up to ${maxAbs(want)}`).toBeLessThan(1e-4 * Math.max(1, maxAbs(want)))
    }
  })

  it('takes other image sizes, as the TF.js model does', async () => {
    const rng = new Rng(3)
    for (const [h, w] of [
      [20, 20],
      [37, 51]
    ]) {
      const input = randomInput(rng, 5 * h * w * 3)
      const d = maxAbsDiff((await runOnnx(tfjsToOnnx(files), input, [5, h, w, 3])).data, runTf(transfer.full, input, [5, h, w, 3]))
      expect(d).toBeLessThan(1e-4)
    }
  })
})

/** nsfwjs ships its models as JS modules: the topology, and the weight shards as base64 strings. */
function nsfwModel(name: string): ModelFiles {
  const dir = join(ROOT, 'node_modules/nsfwjs/dist/models', name)
  const req = createRequire(import.meta.url)
  const model = req(join(dir, 'model.min.js')) as { modelTopology: unknown; weightsManifest: { paths: string[] }[] }
  const shards = model.weightsManifest.flatMap((g) => g.paths.map((p) => Buffer.from(req(join(dir, `${p}.min.js`)) as string, 'base64')))
  return {
    modelJson: { modelTopology: model.modelTopology, weightsManifest: model.weightsManifest },
    weights: new Uint8Array(Buffer.concat(shards))
  }
}

describe('a MobileNetV2 base (nsfwjs, uint8-quantized weights)', () => {
  it('agrees with TF.js at the output and at inner layers', async () => {
    const mobile = nsfwModel('mobilenet_v2')
    const model = await loadModel(mobile)
    try {
      const types = new Set(model.layers.map((l) => l.getClassName()))
      for (const t of ['ZeroPadding2D', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'ReLU', 'Add', 'AveragePooling2D', 'Dense'])
        expect(types).toContain(t)
      const n = 3
      const input = randomInput(new Rng(11), n * 224 * 224 * 3)
      const dims = [n, 224, 224, 3]
      const got = await runOnnx(tfjsToOnnx(mobile), input, dims)
      const want = runTf(model, input, dims)
      expect(got.dims).toEqual([n, 5])
      const d = maxAbsDiff(got.data, want)
      console.log(`MobileNetV2 (nsfwjs), ${n} images 224x224: max |dP| = ${d.toExponential(2)}`)
      expect(d).toBeLessThan(1e-4)
      for (const layer of ['block_3_depthwise_relu', 'block_5_add', 'out_relu']) {
        const prefix = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor })
        const w = runTf(prefix, input, dims)
        const g = await runOnnx(tfjsToOnnx(mobile, { upTo: layer }), input, dims)
        expect(maxAbsDiff(g.data, w), layer).toBeLessThan(1e-4 * Math.max(1, maxAbs(w)))
      }
    } finally {
      model.dispose()
    }
  })
})

describe('the other layer types', () => {
  it('a model of them agrees with TF.js', async () => {
    const rng = new Rng(5)
    const input = tf.input({ shape: [null, null, 3] as unknown as number[] })
    const scaled = tf.layers.rescaling({ scale: 2, offset: -1 }).apply(input) as tf.SymbolicTensor
    const a = tf.layers
      .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' })
      .apply(scaled) as tf.SymbolicTensor
    const b = tf.layers
      .separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'elu' })
      .apply(a) as tf.SymbolicTensor
    const c0 = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2 }).apply(a) as tf.SymbolicTensor
    const c = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', dilationRate: 2 }).apply(c0) as tf.SymbolicTensor
    let x = tf.layers
      .concatenate()
      .apply([
        tf.layers.multiply().apply([b, c]) as tf.SymbolicTensor,
        tf.layers.add().apply([b, c]) as tf.SymbolicTensor
      ]) as tf.SymbolicTensor
    x = tf.layers.batchNormalization({ epsilon: 0.01 }).apply(x) as tf.SymbolicTensor
    x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as tf.SymbolicTensor
    x = tf.layers
      .zeroPadding2d({
        padding: [
          [1, 2],
          [0, 3]
        ]
      })
      .apply(x) as tf.SymbolicTensor
    x = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor
    x = tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor
    x = tf.layers.conv2d({ filters: 6, kernelSize: 2, useBias: false, activation: 'swish' }).apply(x) as tf.SymbolicTensor
    const pooled = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor
    const y = tf.layers.dense({ units: 12, activation: 'softplus' }).apply(pooled) as tf.SymbolicTensor
    const r = tf.layers.reshape({ targetShape: [2, 2, 3] }).apply(y) as tf.SymbolicTensor
    const f = tf.layers.flatten().apply(tf.layers.activation({ activation: 'tanh' }).apply(r) as tf.SymbolicTensor) as tf.SymbolicTensor
    const z = tf.layers.dropout({ rate: 0.5 }).apply(tf.layers.dense({ units: 4 }).apply(f) as tf.SymbolicTensor) as tf.SymbolicTensor
    const out = tf.layers.softmax().apply(z) as tf.SymbolicTensor
    const model = tf.model({ inputs: input, outputs: out })
    // Batch-norm statistics away from their initial 0 and 1, so they matter.
    const random = (w: tf.LayerVariable) => {
      const shape = w.shape as number[]
      const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
        w.name.includes('variance') ? 0.5 + rng.next() : rng.next() - 0.5
      )
      return tf.tensor(values, shape)
    }
    model.setWeights(model.weights.map(random))
    try {
      const mf = await modelFiles(model)
      for (const [h, w] of [
        [16, 16],
        [23, 30]
      ]) {
        const data = randomInput(rng, 4 * h * w * 3)
        const got = await runOnnx(tfjsToOnnx(mf), data, [4, h, w, 3])
        const want = runTf(model, data, [4, h, w, 3])
        expect(got.dims).toEqual([4, 4])
        expect(maxAbsDiff(got.data, want)).toBeLessThan(1e-4)
      }
    } finally {
      model.dispose()
    }
  })

  it('a sequential model agrees with TF.js', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, activation: 'sigmoid' })
      ]
    })
    try {
      const data = randomInput(new Rng(9), 6 * 12 * 12)
      const got = await runOnnx(tfjsToOnnx(await modelFiles(model)), data, [6, 12, 12, 1])
      expect(maxAbsDiff(got.data, runTf(model, data, [6, 12, 12, 1]))).toBeLessThan(1e-5)
    } finally {
      model.dispose()
    }
  })

  it('names the layer type it cannot export', async () => {
    const input = tf.input({ shape: [8, 8, 3] })
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'grow' }).apply(input) as tf.SymbolicTensor
    const model = tf.model({ inputs: input, outputs: tf.layers.globalMaxPooling2d({}).apply(up) as tf.SymbolicTensor })
    const mf = await modelFiles(model)
    expectCuratorError(() => tfjsToOnnx(mf), 'BAD_DATA', /Layer type UpSampling2D \(layer "grow"\) is not exportable to ONNX/)
    expectCuratorError(() => tfjsToOnnx(files, { upTo: 'no_such_layer' }), 'BAD_ARGUMENT', /no layer "no_such_layer"/)
    const dilated = tf.model({
      inputs: input,
      outputs: tf.layers.depthwiseConv2d({ kernelSize: 3, dilationRate: 2, name: 'dw' }).apply(input) as tf.SymbolicTensor
    })
    const dilatedFiles = await modelFiles(dilated)
    expectCuratorError(() => tfjsToOnnx(dilatedFiles), 'BAD_DATA', /DepthwiseConv2D \(layer "dw"\).*dilation_rate/)
    const elu = { ...files, modelJson: JSON.parse(JSON.stringify(files.modelJson).replace('"activation":"tanh"', '"activation":"gelu"')) }
    expectCuratorError(() => tfjsToOnnx(elu), 'BAD_DATA', /layer "dense".*activation gelu/)
    const topology = files.modelJson.modelTopology as { config: { layers: { name: string; inbound_nodes: unknown[][][] }[] } }
    const rewire = (from: string, to: string) => {
      const copy = JSON.parse(JSON.stringify(files.modelJson))
      copy.modelTopology.config.layers.find((l: { name: string }) => l.name === from).inbound_nodes[0][0][0] = to
      return { ...files, modelJson: copy }
    }
    expect(topology.config.layers.map((l) => l.name)).toContain('conv12')
    expectCuratorError(() => tfjsToOnnx(rewire('conv12', 'nowhere')), 'BAD_DATA', /refers to a layer "nowhere" it does not define/)
    expectCuratorError(() => tfjsToOnnx(rewire('conv11', 'conv12')), 'BAD_DATA', /cycle at "conv1[12]"/)
    expectCuratorError(() => tfjsToOnnx({ ...files, modelJson: { weightsManifest: [] } }), 'BAD_DATA', /no modelTopology/)
    const truncated = { ...files, weights: files.weights.subarray(0, 1000) }
    expectCuratorError(() => tfjsToOnnx(truncated), 'BAD_DATA', /weight files end before/)
    model.dispose()
  })
})
