// Data-parallel training of a classifier across worker threads, each with its own TF.js backend.
// A batch is cut into shards of a fixed size; each thread computes the gradients of its shards,
// and this thread adds them up in shard order and takes an Adam step in plain JavaScript.
// The model therefore depends on the seed, the data and the backend, not on the thread count.
import * as tf from '@tensorflow/tfjs'
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { ImageSet, pickImages } from '../data/dataset'
import { startWorker } from './threads'
import type { ShardJob, ShardResult, StepReply, StepRequest, TrainInit } from './train-worker'

/** Images per shard: large enough to keep each thread's kernels busy, small enough to split a batch of 128. */
export const SHARD_SIZE = 64

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
  shardSize?: number
}

export interface StepResult {
  /** Mean cross-entropy and accuracy over the batch, before the step. */
  loss: number
  accuracy: number
}

/** Trains `model`'s trainable weights (sparse categorical cross-entropy on its softmax output, Adam). */
export class ParallelTrainer {
  readonly threads: number
  readonly shardSize: number
  readonly optimizer: Adam
  /** The trainable weights, flat, in model.trainableWeights order: the truth while training. */
  readonly weights: Float32Array
  private readonly workers: Worker[]
  private steps = 0

  constructor(
    private readonly model: tf.LayersModel,
    opts: ParallelTrainerOptions
  ) {
    this.shardSize = opts.shardSize ?? SHARD_SIZE
    const shards = Math.ceil(opts.batchSize / this.shardSize)
    // Native TensorFlow spreads every kernel over all cores itself: one thread, or they fight.
    const wanted = opts.backend === 'tensorflow' ? 1 : (opts.threads ?? availableParallelism())
    this.threads = Math.max(1, Math.min(wanted, shards))
    this.weights = readTrainable(model)
    this.optimizer = new Adam(this.weights.length, opts.learningRate)
    const init: TrainInit = { topology: model.toJSON(null, false), backend: opts.backend }
    this.workers = Array.from({ length: this.threads }, () => startWorker('train-worker', init))
  }

  /** One Adam step on the images `idx` of `set` (labels in set.classes). */
  async step(set: ImageSet, idx: Int32Array): Promise<StepResult> {
    const step = this.steps++
    const jobs: ShardJob[][] = this.workers.map(() => [])
    for (let s = 0, b = 0; b < idx.length; s++, b += this.shardSize)
      jobs[s % this.threads].push({ shard: s, set: pickImages(set, idx.subarray(b, b + this.shardSize)) })
    const replies = await Promise.all(
      this.workers.map((w, k) => (jobs[k].length ? ask(w, { step, weights: this.weights, shards: jobs[k] }) : []))
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
    this.optimizer.apply(this.weights, gradient)
    return { loss: lossSum / idx.length, accuracy: correct / idx.length }
  }

  /** Writes the trained weights into the model. */
  writeWeights(): void {
    writeTrainable(this.model, this.weights)
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
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

function ask(w: Worker, request: StepRequest): Promise<ShardResult[]> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: StepReply) => {
      if (m.step !== request.step) return
      w.off('message', onMessage)
      w.off('error', onError)
      if ('error' in m) reject(new Error(`Training failed: ${m.error}`))
      else resolve(m.results)
    }
    const onError = (err: Error) => {
      w.off('message', onMessage)
      reject(err)
    }
    w.on('message', onMessage)
    w.once('error', onError)
    w.postMessage(request)
  })
}
