// Data-parallel training of a classifier across worker threads, each with its own TF.js backend.
// A batch is cut into shards of a fixed size; each thread computes the gradients of its shards,
// and this thread adds them up in shard order and takes an Adam step in plain JavaScript.
// The model therefore depends on the seed, the data and the backend, not on the thread count.
import * as tf from '@tensorflow/tfjs'
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { ImageSet, pickImages, toInputBuffer } from '../data/dataset'
import { request, startWorker, stopWorker } from './threads'
import type { ShardJob, ShardResult, StepReply, StepRequest, TrainInit } from './train-worker'
import type { TrainLayer } from '../onnx/train-graph'
import { onnxRuntimeLoads } from './featurizer'

/**
 * Images per shard: large enough to keep a thread's kernels busy, small enough that a batch of 128
 * has four, so a thread slowed by other work on the machine takes fewer of them.
 */
export const SHARD_SIZE = 32

/** tf.train.adam's defaults (epsilon: TF.js's float32 epsilon). */
export class Adam {
  private readonly m: Float64Array
  private readonly v: Float64Array
  private beta1Power = 1
  private beta2Power = 1

  constructor(
    size: number,
    public learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7
  ) {
    this.m = new Float64Array(size)
    this.v = new Float64Array(size)
  }

  /** One step on `weights` in place. */
  apply(weights: Float32Array, gradient: Float64Array): void {
    const { m, v, beta1, beta2, epsilon } = this
    this.beta1Power *= beta1
    this.beta2Power *= beta2
    const c1 = 1 - this.beta1Power
    const c2 = 1 - this.beta2Power
    for (let i = 0; i < weights.length; i++) {
      const g = gradient[i]
      m[i] = beta1 * m[i] + (1 - beta1) * g
      v[i] = beta2 * v[i] + (1 - beta2) * g * g
      weights[i] -= (this.learningRate * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + epsilon)
    }
  }
}

export interface ParallelTrainerOptions {
  /** Worker threads (default: one per core; never more than a batch has shards). */
  threads?: number
  /** The largest batch step() will get, to size the thread pool. */
  batchSize: number
  learningRate: number
  backend: string
  /** What computes the gradients (default: defaultTrainer). */
  engine?: TrainerName
  shardSize?: number
  /** The training threads run at a lower priority (a UI is waiting on this machine's cores). */
  background?: boolean
}

export interface StepResult {
  /** Mean cross-entropy and accuracy over the batch, before the step. */
  loss: number
  accuracy: number
}

/** Trains `model`'s trainable weights (sparse categorical cross-entropy on its softmax output, Adam). */
export class ParallelTrainer {
  readonly threads: number
  readonly engine: TrainerName
  readonly shardSize: number
  readonly optimizer: Adam
  /** The trainable weights, flat, in model.trainableWeights order: the truth while training. */
  readonly weights: Float32Array
  private readonly workers: Worker[]
  private requests = 0

  constructor(
    private readonly model: tf.LayersModel,
    opts: ParallelTrainerOptions
  ) {
    this.shardSize = opts.shardSize ?? SHARD_SIZE
    const shards = Math.ceil(opts.batchSize / this.shardSize)
    // Native TensorFlow spreads every kernel over all cores itself: one thread, or they fight.
    this.engine = opts.engine ?? defaultTrainer(opts.backend, model)
    const layers = this.engine === 'onnxruntime' ? trainLayers(model) : null
    if (typeof layers === 'string') throw new Error(`ONNX Runtime cannot train this model: ${layers}`)
    const wanted = opts.backend === 'tensorflow' ? 1 : (opts.threads ?? availableParallelism())
    this.threads = Math.max(1, Math.min(wanted, shards))
    this.weights = readTrainable(model)
    this.optimizer = new Adam(this.weights.length, opts.learningRate)
    const init: TrainInit = { topology: model.toJSON(null, false), backend: opts.backend, layers, background: opts.background }
    this.workers = Array.from({ length: this.threads }, () => startWorker('train-worker', init))
  }

  /** One Adam step on the images `idx` of `set` (labels in set.classes). */
  async step(set: ImageSet, idx: Int32Array): Promise<StepResult> {
    const { gradient, ...result } = await this.gradient(set, idx)
    this.optimizer.apply(this.weights, gradient)
    return result
  }

  /** The gradient of the mean loss over the images `idx` of `set` at the current weights. */
  async gradient(set: ImageSet, idx: Int32Array): Promise<StepResult & { gradient: Float64Array }> {
    const shards: ShardJob[] = []
    for (let b = 0; b < idx.length; b += this.shardSize)
      shards.push({ shard: shards.length, set: pickImages(set, idx.subarray(b, b + this.shardSize)) })
    // Each thread takes the next shard when it is free; the sum below is in shard order whoever computed them.
    let next = 0
    const replies = await Promise.all(
      this.workers.map(async (w) => {
        const mine: ShardResult[] = []
        while (next < shards.length)
          mine.push(...(await ask(w, { request: this.requests++, weights: this.weights, shards: [shards[next++]] })))
        return mine
      })
    )
    const results = replies.flat().sort((a, b) => a.shard - b.shard)
    const gradient = new Float64Array(this.weights.length)
    let lossSum = 0
    let correct = 0
    for (const r of results) {
      // The batch's mean loss: each shard's mean gradient weighed by its share of the images.
      const share = r.count / idx.length
      for (let i = 0; i < gradient.length; i++) gradient[i] += share * r.gradient[i]
      lossSum += r.lossSum
      correct += r.correct
    }
    return { gradient, loss: lossSum / idx.length, accuracy: correct / idx.length }
  }

  /** Writes the trained weights into the model. */
  writeWeights(): void {
    writeTrainable(this.model, this.weights)
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => stopWorker(w)))
  }
}

/** Keras's clipping of probabilities in its cross-entropy. */
const EPSILON = 1e-7

/** The shard's gradient on TF.js: autodiff through the layers model. */
export function tfjsGradient(model: tf.LayersModel, set: ImageSet, shard: number): ShardResult {
  const classes = set.classes!
  const count = set.count
  const order = Int32Array.from({ length: count }, (_, i) => i)
  const { data, height, width, channels } = toInputBuffer(set, order)
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable)
  let hits: tf.Tensor | undefined
  const all = tf.tidy(() => {
    const x = tf.tensor4d(data, [count, height, width, channels])
    const y = tf.tensor1d(classes, 'int32')
    const { value, grads } = tf.variableGrads(() => {
      const p = model.apply(x, { training: true }) as tf.Tensor2D
      // Kept: tensors made inside the gradient function are disposed with it.
      hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(p, -1), y), 'float32')))
      const picked = tf.sum(tf.mul(p, tf.oneHot(y, p.shape[1])), -1)
      return tf.neg(tf.mean(tf.log(tf.clipByValue(picked, EPSILON, 1 - EPSILON)))) as tf.Scalar
    }, vars)
    // One download for the gradients, the loss and the hits: fewer round trips than one per variable.
    return tf.concat([...vars.map((v) => tf.reshape(grads[v.name], [-1])), tf.reshape(value, [1]), tf.reshape(hits!, [1])])
  })
  const flat = all.dataSync() as Float32Array
  tf.dispose([all, hits!])
  const n = flat.length - 2
  const gradient = flat.slice(0, n)
  return { shard, gradient, lossSum: flat[n] * count, correct: flat[n + 1], count }
}

/** A model's trainable weights, flat, in model.trainableWeights order. */
export function readTrainable(model: tf.LayersModel): Float32Array {
  const parts = model.trainableWeights.map((w) => w.read().dataSync() as Float32Array)
  const flat = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((o, p) => (flat.set(p, o), o + p.length), 0)
  return flat
}

/** Sets a model's trainable weights from readTrainable's layout. */
export function writeTrainable(model: tf.LayersModel, flat: Float32Array): void {
  let o = 0
  for (const w of model.trainableWeights) {
    const shape = w.read().shape
    const size = shape.reduce((a, b) => a * b, 1)
    const t = tf.tensor(flat.subarray(o, o + size), shape)
    w.write(t)
    t.dispose()
    o += size
  }
}

async function ask(w: Worker, step: StepRequest): Promise<ShardResult[]> {
  const reply = await request<StepReply>(w, step, (m) => m.request === step.request)
  if ('error' in reply) throw new Error(`Training failed: ${reply.error}`)
  return reply.results
}

/** The layers of `model` as the ONNX training graph takes them, or why it cannot take them. */
export function trainLayers(model: tf.LayersModel): TrainLayer[] | string {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer')
  const out: TrainLayer[] = []
  for (const [k, l] of layers.entries()) {
    const inbound = l.inboundNodes[0]?.inboundLayers ?? []
    if (k > 0 && (inbound.length !== 1 || inbound[0] !== layers[k - 1]))
      return `layer ${l.name} does not simply follow ${layers[k - 1].name}`
    const t = trainLayer(l)
    if (typeof t === 'string') return t
    if (t.kind === 'dense' && t.activation === 'softmax' && k !== layers.length - 1) return `${l.name}: softmax before the last layer`
    out.push(t)
  }
  const last = out.at(-1)
  if (last?.kind !== 'dense' || last.activation !== 'softmax') return 'the last layer is not a softmax classifier'
  return out
}

/** One layer as the ONNX training graph takes it, or why it cannot. */
export function trainLayer(l: tf.layers.Layer): TrainLayer | string {
  const c = l.getConfig() as Record<string, unknown>
  const ones = (v: unknown) => [v].flat().every((x) => x === 1)
  const pair = (v: unknown) => [v, v].flat().slice(0, 2) as [number, number]
  const type = l.getClassName()
  if (type === 'Conv2D') {
    if (!ones(c.strides) || !ones(c.dilationRate) || c.dataFormat !== 'channelsLast') return `${l.name}: strided, dilated or channels-first`
    if (c.activation !== 'relu' && c.activation !== 'linear') return `${l.name}: activation ${String(c.activation)}`
    return {
      kind: 'conv',
      kernel: pair(c.kernelSize),
      filters: Number(c.filters),
      same: c.padding === 'same',
      relu: c.activation === 'relu',
      bias: c.useBias !== false
    }
  }
  if (type === 'MaxPooling2D') {
    const pool = pair(c.poolSize)
    const strides = pair(c.strides ?? c.poolSize)
    if (c.padding !== 'valid' || strides[0] !== pool[0] || strides[1] !== pool[1]) return `${l.name}: overlapping or padded pooling`
    return { kind: 'maxpool', pool }
  }
  if (type === 'GlobalMaxPooling2D') return { kind: 'globalmax' }
  if (type === 'Dense') {
    const activation = c.activation as string
    if (!['relu', 'tanh', 'linear', 'softmax'].includes(activation)) return `${l.name}: activation ${activation}`
    return { kind: 'dense', units: Number(c.units), activation: activation as 'softmax', bias: c.useBias !== false }
  }
  return `layer type ${type}`
}

export type TrainerName = 'tfjs' | 'onnxruntime'

/** CURATOR_TRAINER when set; else ONNX Runtime where it loads, TF.js is not native and the graph takes the model's layers. */
export function defaultTrainer(backend: string, model: tf.LayersModel): TrainerName {
  const asked = process.env.CURATOR_TRAINER
  if (asked === 'tfjs' || asked === 'onnxruntime') return asked
  return backend !== 'tensorflow' && onnxRuntimeLoads() && typeof trainLayers(model) !== 'string' ? 'onnxruntime' : 'tfjs'
}
