// Builds an ONNX model (opset 13) from a TF.js layers model given as plain data: the
// model.json topology (Keras layer configs) and the weight bytes. No maintained TF.js -> ONNX
// converter exists in JS, so each supported layer type is translated here. The graph keeps
// TF.js's NHWC input and output layout; inside, 4-D tensors are NCHW (what ONNX's Conv and
// pooling ops take), with a Transpose wherever a layer needs channels last (Flatten, Reshape).
import { onnx } from 'onnx-proto'
import { CuratorError } from '../../shared/errors'

export const ONNX_OPSET = 13
export const IR_VERSION = 7 // the IR that goes with opset 13

/** model.json (its modelTopology and weightsManifest) and the concatenated weight files. */
export interface LayersModelData {
  modelJson: Record<string, unknown>
  weights: Uint8Array
}

export interface OnnxOptions {
  /** The layer whose output the graph ends at (a prefix of the model, e.g. a featurizer); default: the model's output. */
  upTo?: string
  inputName?: string
  outputName?: string
  /** Stored as the model's metadata_props (e.g. preprocessing, input layout, labels). */
  metadata?: Record<string, string>
  docString?: string
  producerVersion?: string
}

interface KerasLayer {
  class_name: string
  name: string
  config: Record<string, unknown>
  inbound_nodes?: unknown[]
}

/** A tensor of the graph being built: 4-D tensors are held NCHW inside the graph. */
interface Value {
  name: string
  rank: number
  nchw: boolean
}

type Attr = number | number[] | string | { floats: number[] }

/** Why a model cannot be written as ONNX: names the layer type and the layer. */
export function notExportable(type: string, layer: string, why = ''): CuratorError {
  return new CuratorError('BAD_DATA', `Layer type ${type} (layer "${layer}") is not exportable to ONNX${why ? `: ${why}` : ''}`)
}

/** Why the model (or its prefix up to `upTo`) cannot be written as ONNX, or null when it can. */
export function onnxUnsupported(model: LayersModelData, upTo?: string): string | null {
  try {
    tfjsToOnnx(model, { upTo })
    return null
  } catch (err) {
    if (err instanceof CuratorError && err.code === 'BAD_DATA') return err.message
    throw err
  }
}

/** The ONNX model's bytes (a serialized ModelProto). */
export function tfjsToOnnx(model: LayersModelData, opts: OnnxOptions = {}): Uint8Array {
  const { layers, inputs, outputs } = topology(model.modelJson)
  const weights = decodeWeights(model)
  const g = new Graph(weights)
  if (inputs.length !== 1)
    throw new CuratorError('BAD_DATA', `Only models with one input are exportable to ONNX (this one has ${inputs.length})`)
  const byName = new Map(layers.map((l) => [l.name, l]))
  const inputLayer = byName.get(inputs[0])
  if (!inputLayer) throw new CuratorError('BAD_DATA', `The model's input layer "${inputs[0]}" is not among its layers`)
  const shape = (inputLayer.config.batch_input_shape ?? inputLayer.config.batchInputShape) as (number | null)[] | undefined
  if (!Array.isArray(shape)) throw new CuratorError('BAD_DATA', `The input layer "${inputLayer.name}" has no batch_input_shape`)
  const inputName = opts.inputName ?? 'input'
  const outputName = opts.outputName ?? 'output'

  // Resolves each layer's output on demand, so a prefix (upTo) emits only the nodes it needs.
  const computed = new Map<string, Value>()
  const visiting = new Set<string>()
  const resolve = (name: string, node = 0): Value => {
    const key = `${name}#${node}`
    const known = computed.get(key)
    if (known) return known
    const layer = byName.get(name)
    if (!layer) throw new CuratorError('BAD_DATA', `The model refers to a layer "${name}" it does not define`)
    if (visiting.has(key)) throw new CuratorError('BAD_DATA', `The model's layers form a cycle at "${name}"`)
    visiting.add(key)
    let out: Value
    if (layer === inputLayer) {
      out = shape.length === 4 ? g.toNchw({ name: inputName, rank: 4, nchw: false }) : { name: inputName, rank: shape.length, nchw: false }
    } else {
      const args = inboundOf(layer, node).map(([n, i]) => resolve(n, i))
      out = convertLayer(g, layer, args)
    }
    visiting.delete(key)
    computed.set(key, out)
    return out
  }

  let last: Value
  if (opts.upTo !== undefined) {
    if (!byName.has(opts.upTo)) throw new CuratorError('BAD_ARGUMENT', `The model has no layer "${opts.upTo}"`)
    last = resolve(opts.upTo)
  } else {
    if (outputs.length !== 1)
      throw new CuratorError('BAD_DATA', `Only models with one output are exportable to ONNX (this one has ${outputs.length})`)
    last = resolve(outputs[0][0], outputs[0][1])
  }
  // Outputs in TF.js's own layout (NHWC), so features and predictions match it element for element.
  const final = g.toChannelsLast(last)
  g.node('Identity', [final.name], {}, [outputName])

  const dims = shape.map((d, i) =>
    d === null || d === undefined ? { dimParam: ['batch', 'height', 'width', 'channels'][i] ?? `d${i}` } : { dimValue: d }
  )
  const modelProto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'Curator',
    producerVersion: opts.producerVersion ?? '',
    docString: opts.docString ?? '',
    graph: {
      name: String(((model.modelJson.modelTopology as Record<string, unknown>)?.config as Record<string, unknown>)?.name ?? 'model'),
      node: g.nodes,
      initializer: g.inits,
      input: [{ name: inputName, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims } } } }],
      output: [{ name: outputName, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }]
    },
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value }))
  })
  return onnx.ModelProto.encode(modelProto).finish()
}

/** The layer list, input layer names and output (layer, node) pairs of a functional or sequential model. */
function topology(modelJson: Record<string, unknown>): { layers: KerasLayer[]; inputs: string[]; outputs: [string, number][] } {
  let top = modelJson.modelTopology as Record<string, unknown> | undefined
  if (!top || typeof top !== 'object') throw new CuratorError('BAD_DATA', 'model.json has no modelTopology')
  if (top.model_config) top = top.model_config as Record<string, unknown> // the Keras converter's wrapping
  const cls = String(top.class_name)
  const config = top.config as Record<string, unknown>
  if (cls === 'Sequential') {
    const list = (Array.isArray(config) ? config : (config.layers as KerasLayer[])).map((l) => ({
      ...l,
      name: l.name ?? String(l.config.name)
    }))
    const layers: KerasLayer[] = []
    if (list[0]?.class_name !== 'InputLayer') {
      const bis = list[0]?.config.batch_input_shape
      if (!bis) throw new CuratorError('BAD_DATA', 'The sequential model does not state its input shape')
      layers.push({ class_name: 'InputLayer', name: '__input', config: { batch_input_shape: bis } })
    }
    for (const l of list) layers.push({ ...l, inbound_nodes: layers.length ? [[[layers[layers.length - 1].name, 0, 0, {}]]] : [] })
    return { layers, inputs: [layers[0].name], outputs: [[layers[layers.length - 1].name, 0]] }
  }
  if (cls !== 'Model' && cls !== 'Functional') throw new CuratorError('BAD_DATA', `model.json holds a ${cls}, not a layers model`)
  const refs = (v: unknown) => (v as [string, number, number][]).map(([n, i]) => [n, i] as [string, number])
  return { layers: config.layers as KerasLayer[], inputs: refs(config.input_layers).map(([n]) => n), outputs: refs(config.output_layers) }
}

/** The (layer, node) pairs feeding the given node of a layer. */
function inboundOf(layer: KerasLayer, node: number): [string, number][] {
  const nodes = layer.inbound_nodes
  if (!Array.isArray(nodes) || !Array.isArray(nodes[node]))
    throw new CuratorError('BAD_DATA', `Layer "${layer.name}" has no inbound node ${node}`)
  return (nodes[node] as unknown[]).map((ref) => {
    if (!Array.isArray(ref) || typeof ref[0] !== 'string')
      throw notExportable(layer.class_name, layer.name, 'its inbound node is not in the Keras 2 format')
    return [ref[0], Number(ref[1] ?? 0)]
  })
}

interface Weight {
  shape: number[]
  data: Float32Array
}

interface WeightSpec {
  name: string
  shape: number[]
  dtype: string
  quantization?: { dtype: string; scale?: number; min?: number }
}

/** The model's weights by name, as float32 (dequantizing uint8/uint16/float16 weights as TF.js does). */
export function decodeWeights(model: LayersModelData): Map<string, Weight> {
  const groups = model.modelJson.weightsManifest as { weights: WeightSpec[] }[] | undefined
  if (!Array.isArray(groups)) throw new CuratorError('BAD_DATA', 'model.json has no weightsManifest')
  const bytes = model.weights
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Map<string, Weight>()
  let at = 0
  for (const spec of groups.flatMap((g) => g.weights)) {
    const n = spec.shape.reduce((a, b) => a * b, 1)
    const q = spec.quantization
    const type = q?.dtype ?? spec.dtype
    const size = { float32: 4, int32: 4, uint16: 2, float16: 2, uint8: 1, bool: 1 }[type]
    if (!size) throw new CuratorError('BAD_DATA', `Weight ${spec.name} has an unsupported type ${type}`)
    if (at + n * size > bytes.byteLength) throw new CuratorError('BAD_DATA', `The weight files end before weight ${spec.name}`)
    const data = new Float32Array(n)
    for (let i = 0; i < n; i++) {
      const o = at + i * size
      const raw =
        type === 'float32'
          ? view.getFloat32(o, true)
          : type === 'int32'
            ? view.getInt32(o, true)
            : type === 'uint16'
              ? view.getUint16(o, true)
              : type === 'float16'
                ? half(view.getUint16(o, true))
                : view.getUint8(o)
      data[i] = q && q.dtype !== 'float16' ? raw * (q.scale ?? 1) + (q.min ?? 0) : raw
    }
    out.set(spec.name, { shape: spec.shape, data })
    at += n * size
  }
  return out
}

function half(h: number): number {
  const e = (h >> 10) & 0x1f
  const m = h & 0x3ff
  const s = h & 0x8000 ? -1 : 1
  if (e === 0) return s * m * 2 ** -24
  if (e === 31) return m ? NaN : s * Infinity
  return s * (1 + m / 1024) * 2 ** (e - 15)
}

/** Accumulates nodes and initializers, naming what it creates uniquely (train-graph.ts builds with it too). */
export class Graph {
  nodes: onnx.INodeProto[] = []
  inits: onnx.ITensorProto[] = []
  private count = 0
  constructor(readonly weights: Map<string, Weight>) {}

  fresh(hint: string): string {
    return `${hint}__${this.count++}`
  }

  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = [this.fresh(op)], name = outputs[0]): string {
    const attribute = Object.entries(attrs).map(([n, v]) => attribute_(n, v))
    this.nodes.push({ opType: op, input: inputs, output: outputs, name, attribute })
    return outputs[0]
  }

  constant(hint: string, dims: number[], values: Float32Array | number[], type: 'float' | 'int64' = 'float'): string {
    const name = this.fresh(hint)
    const raw = type === 'float' ? new Float32Array(values) : BigInt64Array.from(Array.from(values, (v) => BigInt(v)))
    const dataType = type === 'float' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64
    this.inits.push({ name, dims, dataType, rawData: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) })
    return name
  }

  weight(layer: KerasLayer, which: string): Weight {
    const w = this.weights.get(`${layer.name}/${which}`)
    if (!w) throw new CuratorError('BAD_DATA', `The weights hold no ${layer.name}/${which}`)
    return w
  }

  toNchw(v: Value): Value {
    if (v.rank !== 4 || v.nchw) return v
    return { name: this.node('Transpose', [v.name], { perm: [0, 3, 1, 2] }), rank: 4, nchw: true }
  }

  toChannelsLast(v: Value): Value {
    if (!v.nchw) return v
    return { name: this.node('Transpose', [v.name], { perm: [0, 2, 3, 1] }), rank: 4, nchw: false }
  }
}

function attribute_(name: string, v: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) }
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v }
  if (typeof v === 'object') return { name, type: T.FLOATS, floats: v.floats }
  return Number.isInteger(v) && !FLOAT_ATTRS.has(name) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v }
}

/** Attributes ONNX types as float even when the value happens to be whole (alpha = 1). */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'gamma', 'epsilon'])

const pair = (v: unknown, layer: KerasLayer, key: string): [number, number] => {
  const a = Array.isArray(v) ? v.map(Number) : [Number(v), Number(v)]
  if (a.length !== 2 || a.some((x) => !Number.isInteger(x)))
    throw notExportable(layer.class_name, layer.name, `${key} ${JSON.stringify(v)}`)
  return [a[0], a[1]]
}

/** Keras axis (NHWC, may be negative) -> the axis of the tensor as held in the graph. */
function axisOf(v: Value, axis: number, layer: KerasLayer): number {
  const a = axis < 0 ? axis + v.rank : axis
  if (a < 0 || a >= v.rank) throw notExportable(layer.class_name, layer.name, `axis ${axis} of a rank-${v.rank} tensor`)
  return v.nchw ? [0, 2, 3, 1][a] : a
}

function activation(g: Graph, v: Value, name: unknown, layer: KerasLayer): Value {
  const x = v.name
  const out = (n: string): Value => ({ ...v, name: n })
  switch (name ?? 'linear') {
    case 'linear':
      return v
    case 'relu':
      return out(g.node('Relu', [x]))
    case 'relu6':
      return out(g.node('Clip', [x, g.constant('zero', [], [0]), g.constant('six', [], [6])]))
    case 'sigmoid':
      return out(g.node('Sigmoid', [x]))
    case 'tanh':
      return out(g.node('Tanh', [x]))
    case 'softmax':
      return out(g.node('Softmax', [x], { axis: v.nchw ? 1 : -1 }))
    case 'elu':
      return out(g.node('Elu', [x], { alpha: 1 }))
    case 'selu':
      return out(g.node('Selu', [x], { alpha: 1.6732632423543772, gamma: 1.0507009873554805 }))
    case 'softplus':
      return out(g.node('Softplus', [x]))
    case 'softsign':
      return out(g.node('Softsign', [x]))
    case 'hard_sigmoid':
    case 'hardSigmoid':
      return out(g.node('HardSigmoid', [x], { alpha: 0.2, beta: 0.5 }))
    case 'swish':
      return out(g.node('Mul', [x, g.node('Sigmoid', [x])]))
    case 'mish':
      return out(g.node('Mul', [x, g.node('Tanh', [g.node('Softplus', [x])])]))
    case 'exponential':
      return out(g.node('Exp', [x]))
    default:
      throw notExportable(layer.class_name, layer.name, `activation ${String(name)} is not exportable`)
  }
}

function one(layer: KerasLayer, args: Value[]): Value {
  if (args.length !== 1) throw notExportable(layer.class_name, layer.name, `expected one input, got ${args.length}`)
  return args[0]
}

function spatial(g: Graph, layer: KerasLayer, args: Value[]): Value {
  const v = one(layer, args)
  if (v.rank !== 4) throw notExportable(layer.class_name, layer.name, `a rank-${v.rank} input (only images, rank 4)`)
  const fmt = layer.config.data_format
  if (fmt !== undefined && fmt !== null && fmt !== 'channels_last')
    throw notExportable(layer.class_name, layer.name, `data_format ${String(fmt)}`)
  return g.toNchw(v)
}

function padding(
  layer: KerasLayer,
  kernel: [number, number],
  strides: [number, number],
  dilation: [number, number] = [1, 1]
): Record<string, Attr> {
  const p = layer.config.padding ?? 'valid'
  if (p === 'valid') return { pads: [0, 0, 0, 0] }
  if (p !== 'same') throw notExportable(layer.class_name, layer.name, `padding ${String(p)}`)
  // TF's "same" puts the odd pixel of padding at the end. At stride 1 that is a fixed amount;
  // otherwise it depends on the image size: ONNX's SAME_UPPER (which ONNX Runtime runs only undilated).
  if (strides[0] === 1 && strides[1] === 1) {
    const total = kernel.map((k, i) => (k - 1) * dilation[i])
    const before = total.map((t) => Math.floor(t / 2))
    return { pads: [before[0], before[1], total[0] - before[0], total[1] - before[1]] }
  }
  if (dilation[0] !== 1 || dilation[1] !== 1)
    throw notExportable(layer.class_name, layer.name, 'padding "same" with both strides and dilation')
  return { auto_pad: 'SAME_UPPER' }
}

/** HWIO (TF) -> OIHW (ONNX); for depthwise kernels [h, w, in, mult] -> [in * mult, 1, h, w]. */
function oihw(w: Weight, depthwise: boolean): { dims: number[]; data: Float32Array } {
  const [h, wd, i, o] = w.shape
  const outC = depthwise ? i * o : o
  const inC = depthwise ? 1 : i
  const data = new Float32Array(w.data.length)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < wd; x++)
      for (let c = 0; c < i; c++)
        for (let k = 0; k < o; k++) {
          const src = ((y * wd + x) * i + c) * o + k
          const [oc, ic] = depthwise ? [c * o + k, 0] : [k, c]
          data[((oc * inC + ic) * h + y) * wd + x] = w.data[src]
        }
  return { dims: [outC, inC, h, wd], data }
}

function conv(
  g: Graph,
  layer: KerasLayer,
  v: Value,
  kernel: Weight,
  depthwise: boolean,
  bias: Weight | null,
  stride: [number, number],
  dilation: [number, number]
): Value {
  const { dims, data } = oihw(kernel, depthwise)
  const groups = depthwise ? kernel.shape[2] : Number(layer.config.groups ?? 1)
  const inputs = [v.name, g.constant(`${layer.name}/kernel`, dims, data)]
  if (bias) inputs.push(g.constant(`${layer.name}/bias`, [bias.data.length], bias.data))
  const attrs = {
    kernel_shape: [dims[2], dims[3]],
    strides: stride,
    dilations: dilation,
    group: groups,
    ...padding(layer, [dims[2], dims[3]], stride, dilation)
  }
  return { name: g.node('Conv', inputs, attrs), rank: 4, nchw: true }
}

/** A convolution with the layer's own strides and dilation, and its bias where it has one and `withBias`. */
function layerConv(g: Graph, layer: KerasLayer, v: Value, kernel: string, depthwise: boolean, withBias: boolean): Value {
  const c = layer.config
  const bias = withBias && c.use_bias !== false ? g.weight(layer, 'bias') : null
  const strides = pair(c.strides ?? 1, layer, 'strides')
  return conv(g, layer, v, g.weight(layer, kernel), depthwise, bias, strides, pair(c.dilation_rate ?? 1, layer, 'dilation_rate'))
}

function convertLayer(g: Graph, layer: KerasLayer, args: Value[]): Value {
  const c = layer.config
  const type = layer.class_name
  switch (type) {
    case 'Conv2D':
      return activation(g, layerConv(g, layer, spatial(g, layer, args), 'kernel', false, true), c.activation, layer)
    case 'DepthwiseConv2D': {
      const v = spatial(g, layer, args)
      // TF.js's DepthwiseConv2D layer ignores dilation_rate: an export would compute something else than the model did.
      if (pair(c.dilation_rate ?? 1, layer, 'dilation_rate').some((d) => d !== 1))
        throw notExportable(type, layer.name, 'dilation_rate > 1 (TF.js ignores it)')
      return activation(g, layerConv(g, layer, v, 'depthwise_kernel', true, true), c.activation, layer)
    }
    case 'SeparableConv2D': {
      const d = layerConv(g, layer, spatial(g, layer, args), 'depthwise_kernel', true, false)
      const pointwise = { ...layer, config: { ...c, padding: 'valid' } }
      const y = conv(
        g,
        pointwise,
        d,
        g.weight(layer, 'pointwise_kernel'),
        false,
        c.use_bias === false ? null : g.weight(layer, 'bias'),
        [1, 1],
        [1, 1]
      )
      return activation(g, y, c.activation, layer)
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const v = spatial(g, layer, args)
      const size = pair(c.pool_size ?? 2, layer, 'pool_size')
      const strides = c.strides === null || c.strides === undefined ? size : pair(c.strides, layer, 'strides')
      const attrs: Record<string, Attr> = { kernel_shape: size, strides, ...padding(layer, size, strides) }
      // TF averages over the real pixels only, never the padding (count_include_pad 0, ONNX's default).
      return { name: g.node(type === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [v.name], attrs), rank: 4, nchw: true }
    }
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling2D': {
      const v = spatial(g, layer, args)
      const pooled = g.node(type === 'GlobalMaxPooling2D' ? 'GlobalMaxPool' : 'GlobalAveragePool', [v.name])
      if (c.keepdims === true) return { name: pooled, rank: 4, nchw: true }
      return { name: g.node('Flatten', [pooled], { axis: 1 }), rank: 2, nchw: false }
    }
    case 'ZeroPadding2D': {
      const v = spatial(g, layer, args)
      // An int (all sides), [rows, cols] (both sides each), or [[top, bottom], [left, right]].
      const p = c.padding ?? 1
      if (Array.isArray(p) && p.length !== 2) throw notExportable(type, layer.name, `padding ${JSON.stringify(p)}`)
      const [[top, bottom], [left, right]] = Array.isArray(p)
        ? (p as unknown[]).map((q) => pair(q, layer, 'padding'))
        : [pair(p, layer, 'padding'), pair(p, layer, 'padding')]
      const pads = g.constant(`${layer.name}/pads`, [8], [0, 0, top, left, 0, 0, bottom, right], 'int64')
      return { name: g.node('Pad', [v.name, pads], { mode: 'constant' }), rank: 4, nchw: true }
    }
    case 'BatchNormalization': {
      const v = one(layer, args)
      const axes = Array.isArray(c.axis) ? (c.axis as number[]) : [Number(c.axis ?? -1)]
      if (axes.length !== 1 || axisOf(v, axes[0], layer) !== 1)
        throw notExportable(type, layer.name, `normalising axis ${JSON.stringify(c.axis)} (only the channel axis)`)
      const mean = g.weight(layer, 'moving_mean')
      const n = mean.data.length
      const gamma = c.scale === false ? new Float32Array(n).fill(1) : g.weight(layer, 'gamma').data
      const beta = c.center === false ? new Float32Array(n) : g.weight(layer, 'beta').data
      const inputs = [
        v.name,
        g.constant(`${layer.name}/gamma`, [n], gamma),
        g.constant(`${layer.name}/beta`, [n], beta),
        g.constant(`${layer.name}/mean`, [n], mean.data)
      ]
      inputs.push(g.constant(`${layer.name}/variance`, [n], g.weight(layer, 'moving_variance').data))
      return { ...v, name: g.node('BatchNormalization', inputs, { epsilon: Number(c.epsilon ?? 1e-3) }) }
    }
    case 'Dense': {
      let v = one(layer, args)
      const kernel = g.weight(layer, 'kernel')
      const w = g.constant(`${layer.name}/kernel`, kernel.shape, kernel.data)
      const bias = c.use_bias === false ? null : g.weight(layer, 'bias')
      const b = bias && g.constant(`${layer.name}/bias`, [bias.data.length], bias.data)
      let y: string
      if (v.rank === 2) {
        y = g.node(b ? 'Gemm' : 'MatMul', b ? [v.name, w, b] : [v.name, w])
      } else {
        v = g.toChannelsLast(v) // Dense acts on the last (channel) axis
        const m = g.node('MatMul', [v.name, w])
        y = b ? g.node('Add', [m, b]) : m
      }
      return activation(g, { name: y, rank: v.rank, nchw: false }, c.activation, layer)
    }
    case 'Flatten': {
      const v = g.toChannelsLast(one(layer, args)) // Keras flattens in NHWC order
      return { name: g.node('Flatten', [v.name], { axis: 1 }), rank: 2, nchw: false }
    }
    case 'Reshape': {
      const v = g.toChannelsLast(one(layer, args))
      const target = (c.target_shape as number[]).map(Number)
      const shape = g.constant(`${layer.name}/shape`, [target.length + 1], [0, ...target], 'int64')
      return g.toNchw({ name: g.node('Reshape', [v.name, shape]), rank: target.length + 1, nchw: false })
    }
    case 'Activation':
      return activation(g, one(layer, args), c.activation, layer)
    case 'ReLU': {
      const v = one(layer, args)
      if (Number(c.negative_slope ?? 0) !== 0 || Number(c.threshold ?? 0) !== 0)
        throw notExportable(type, layer.name, 'a negative slope or threshold')
      const max = c.max_value ?? c.maxValue
      if (max === null || max === undefined) return { ...v, name: g.node('Relu', [v.name]) }
      return { ...v, name: g.node('Clip', [v.name, g.constant('zero', [], [0]), g.constant('max', [], [Number(max)])]) }
    }
    case 'LeakyReLU': {
      const v = one(layer, args)
      return { ...v, name: g.node('LeakyRelu', [v.name], { alpha: Number(c.alpha ?? 0.3) }) }
    }
    case 'ELU': {
      const v = one(layer, args)
      return { ...v, name: g.node('Elu', [v.name], { alpha: Number(c.alpha ?? 1) }) }
    }
    case 'Softmax': {
      const v = one(layer, args)
      const axis = Array.isArray(c.axis) ? (c.axis as number[]) : [Number(c.axis ?? -1)]
      if (axis.length !== 1) throw notExportable(type, layer.name, `softmax over several axes`)
      return { ...v, name: g.node('Softmax', [v.name], { axis: axisOf(v, axis[0], layer) }) }
    }
    case 'Rescaling': {
      const v = one(layer, args)
      const scaled = g.node('Mul', [v.name, g.constant(`${layer.name}/scale`, [], [Number(c.scale ?? 1)])])
      return { ...v, name: g.node('Add', [scaled, g.constant(`${layer.name}/offset`, [], [Number(c.offset ?? 0)])]) }
    }
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'GaussianNoise':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return one(layer, args) // identity at inference
    case 'Add':
    case 'Multiply':
    case 'Maximum':
    case 'Minimum':
    case 'Average':
    case 'Subtract': {
      if (args.length < 2) throw notExportable(type, layer.name, 'fewer than two inputs')
      const rank = args[0].rank
      if (args.some((a) => a.rank !== rank)) throw notExportable(type, layer.name, 'inputs of different ranks')
      const vs = args.map((a) => g.toNchw(a))
      const names = vs.map((a) => a.name)
      const op = { Add: 'Sum', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min', Average: 'Mean', Subtract: 'Sub' }[type]!
      const name = op === 'Mul' ? names.slice(1).reduce((acc, n) => g.node('Mul', [acc, n]), names[0]) : g.node(op, names)
      return { ...vs[0], name }
    }
    case 'Concatenate': {
      if (args.length < 2) throw notExportable(type, layer.name, 'fewer than two inputs')
      const vs = args.map((a) => g.toNchw(a))
      return {
        ...vs[0],
        name: g.node(
          'Concat',
          vs.map((a) => a.name),
          { axis: axisOf(vs[0], Number(c.axis ?? -1), layer) }
        )
      }
    }
    default:
      throw notExportable(type, layer.name)
  }
}
