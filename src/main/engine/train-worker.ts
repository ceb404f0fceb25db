// One training thread: the gradient of a classifier's mean cross-entropy on shards of a batch,
// with its own TF.js backend. The weights and the optimizer live in the thread that started it.
import { parentPort, workerData } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend'
import { ImageSet, toInputBuffer } from '../data/dataset'
import { tfjsGradient, writeTrainable } from './parallel-train'
import { CORRECT, IMAGE, LOSS, ONEHOT, trainGraph, type TrainLayer } from '../onnx/train-graph'
import { nchwcBlockSize, ortSession, requireOrt } from './featurizer'
import { onParentMessage, runInBackground } from './threads'
import type * as Ort from 'onnxruntime-node'

export interface TrainInit {
  /** The model's topology (model.toJSON(null, false)): the thread builds the same network. */
  topology: unknown
  backend?: string
  /** Set: ONNX Runtime computes the gradients, on the training graph of these layers. */
  layers: TrainLayer[] | null
  /** Run below normal priority (Linux: this thread's nice value), so the UI's processes come first. */
  background?: boolean
}

export interface ShardJob {
  shard: number
  set: ImageSet
}

export interface StepRequest {
  /** Matches the reply to the request. */
  request: number
  /** The trainable weights, flat, in model.trainableWeights order. */
  weights: Float32Array
  shards: ShardJob[]
}

export interface ShardResult {
  shard: number
  /** The gradient of the shard's mean loss, flat like the weights. */
  gradient: Float32Array
  lossSum: number
  correct: number
  count: number
}

export type StepReply = { request: number; results: ShardResult[] } | { request: number; error: string }

const init = workerData as TrainInit
if (init.background) runInBackground()

const ready: Promise<tf.LayersModel> = (async () => {
  await initBackend(init.backend as never)
  return tf.models.modelFromJSON(init.topology as tf.io.ModelJSON['modelTopology'] as never)
})()

/** One ONNX Runtime session per image size (the graph's spatial sizes are fixed), one intra-op thread each. */
const sessions = new Map<string, Promise<Ort.InferenceSession>>()
function sessionFor(height: number, width: number, channels: number): Promise<Ort.InferenceSession> {
  const key = `${height}x${width}x${channels}`
  let s = sessions.get(key)
  if (!s) {
    s = nchwcBlockSize().then((block) => ortSession(trainGraph(init.layers!, [height, width, channels], block)))
    sessions.set(key, s)
  }
  return s
}

/** The shard's gradient on ONNX Runtime: the hand-written backward graph, weights fed in as inputs. */
async function ortGradient(model: tf.LayersModel, weights: Float32Array, job: ShardJob): Promise<ShardResult> {
  const ort = requireOrt()
  const count = job.set.count
  const { data, height, width, channels } = toInputBuffer(
    job.set,
    Int32Array.from({ length: count }, (_, i) => i)
  )
  const classes = (model.outputs[0].shape as number[])[1]
  const onehot = new Float32Array(count * classes)
  job.set.classes!.forEach((c, i) => (onehot[i * classes + c] = 1))
  const feeds: Record<string, Ort.Tensor> = {
    [IMAGE]: new ort.Tensor('float32', data, [count, height, width, channels]),
    [ONEHOT]: new ort.Tensor('float32', onehot, [count, classes])
  }
  const shapes = model.trainableWeights.map((w) => w.read().shape)
  let o = 0
  shapes.forEach((shape, k) => {
    const size = shape.reduce((a, b) => a * b, 1)
    feeds[`w${k}`] = new ort.Tensor('float32', weights.slice(o, o + size), shape)
    o += size
  })
  const out = await (await sessionFor(height, width, channels)).run(feeds)
  const gradient = new Float32Array(weights.length)
  o = 0
  shapes.forEach((_, k) => {
    const g = out[`g${k}`].data as Float32Array
    gradient.set(g, o)
    o += g.length
  })
  const loss = (out[LOSS].data as Float32Array)[0]
  return { shard: job.shard, gradient, lossSum: loss * count, correct: (out[CORRECT].data as Float32Array)[0], count }
}

onParentMessage(async (m: StepRequest) => {
  try {
    const model = await ready
    const results: ShardResult[] = []
    if (init.layers) for (const job of m.shards) results.push(await ortGradient(model, m.weights, job))
    else {
      writeTrainable(model, m.weights)
      for (const job of m.shards) results.push(tfjsGradient(model, job.set, job.shard))
    }
    const reply: StepReply = { request: m.request, results }
    parentPort!.postMessage(
      reply,
      results.map((r) => r.gradient.buffer as ArrayBuffer)
    )
  } catch (err) {
    parentPort!.postMessage({ request: m.request, error: (err as Error).message } satisfies StepReply)
  }
})
