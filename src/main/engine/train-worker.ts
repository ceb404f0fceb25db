// One training thread: the gradient of a classifier's mean cross-entropy on shards of a batch,
// with its own TF.js backend. The weights and the optimizer live in the thread that started it.
import { parentPort, workerData } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend'
import { ImageSet, toInputBuffer } from '../data/dataset'
import { writeTrainable } from './parallel-train'

export interface TrainInit {
  /** The model's topology (model.toJSON(null, false)): the thread builds the same network. */
  topology: unknown
  backend?: string
}

export interface ShardJob {
  shard: number
  set: ImageSet
}

export interface StepRequest {
  step: number
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

export type StepReply = { step: number; results: ShardResult[] } | { step: number; error: string }

/** Keras's clipping of probabilities in its cross-entropy. */
const EPSILON = 1e-7

const init = workerData as TrainInit

const ready: Promise<tf.LayersModel> = (async () => {
  await initBackend(init.backend as never)
  return tf.models.modelFromJSON(init.topology as tf.io.ModelJSON['modelTopology'] as never)
})()

function shardGradient(model: tf.LayersModel, job: ShardJob): ShardResult {
  const classes = job.set.classes!
  const count = job.set.count
  const order = Int32Array.from({ length: count }, (_, i) => i)
  const { data, height, width, channels } = toInputBuffer(job.set, order)
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
  return { shard: job.shard, gradient, lossSum: flat[n] * count, correct: flat[n + 1], count }
}

parentPort!.on('message', async (m: StepRequest) => {
  try {
    const model = await ready
    writeTrainable(model, m.weights)
    const results = m.shards.map((job) => shardGradient(model, job))
    const reply: StepReply = { step: m.step, results }
    parentPort!.postMessage(
      reply,
      results.map((r) => r.gradient.buffer as ArrayBuffer)
    )
  } catch (err) {
    parentPort!.postMessage({ step: m.step, error: (err as Error).message } satisfies StepReply)
  }
})
