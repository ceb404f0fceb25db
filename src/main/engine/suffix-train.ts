// The transfer fit on ONNX Runtime: the unfrozen layers and the sigmoid head as one training graph
// on the cached activations below them (gradients for those layers only), Adam in plain JavaScript.
// At a few dozen labels a step is a few hundred microseconds of arithmetic, so the cost is per call:
// one session run per step, the features and weights fed without copies, one intra-op thread (the
// same weights for a seed on every run).
import * as tf from '@tensorflow/tfjs'
import type * as Ort from 'onnxruntime-node'
import { IMAGE, ONEHOT, trainGraph, type TrainLayer } from '../onnx/train-graph'
import { onnxRuntimeLoads, ortSession, requireOrt } from './featurizer'
import { Adam, readTrainable, trainLayer, writeTrainable, type TrainerName } from './parallel-train'
import type { TransferModel } from './transfer'

/** The unfrozen layers and the head as the training graph takes them, or why it cannot. */
export function suffixTrainLayers(t: TransferModel): TrainLayer[] | string {
  const out: TrainLayer[] = []
  for (const l of t.layers.slice(t.splitIndex + 1, t.top + 1)) {
    const layer = trainLayer(l)
    if (typeof layer === 'string') return layer
    out.push(layer)
  }
  out.push({ kind: 'dense', units: 1, activation: 'sigmoid', bias: true })
  return out
}

/** CURATOR_TRAINER when set; else ONNX Runtime where it loads, TF.js is not native and the graph takes the layers. */
export function defaultSuffixTrainer(t: TransferModel): TrainerName {
  const asked = process.env.CURATOR_TRAINER
  if (asked === 'tfjs' || asked === 'onnxruntime') return asked
  return tf.getBackend() !== 'tensorflow' && onnxRuntimeLoads() && typeof suffixTrainLayers(t) !== 'string' ? 'onnxruntime' : 'tfjs'
}

/** Trains a transfer model's suffix (its trainable weights) on ONNX Runtime; the flat weights are the truth while training. */
export class SuffixTrainer {
  /** The suffix's trainable weights, flat, in suffix.trainableWeights order. */
  readonly weights: Float32Array
  private readonly initial: Float32Array
  private readonly feeds: Record<string, Ort.Tensor> = {}
  private readonly names: string[]
  private session: Promise<Ort.InferenceSession> | null = null

  constructor(
    private readonly t: TransferModel,
    private readonly layers: TrainLayer[]
  ) {
    this.initial = readTrainable(t.suffix)
    this.weights = this.initial.slice()
    const ort = requireOrt()
    let o = 0
    // Views on the flat weights: Adam updates them in place and each run reads them as they are.
    this.names = t.suffix.trainableWeights.map((w, k) => {
      const shape = w.shape as number[]
      const size = shape.reduce((a, b) => a * b, 1)
      this.feeds[`w${k}`] = new ort.Tensor('float32', this.weights.subarray(o, o + size), shape)
      o += size
      return `g${k}`
    })
  }

  /** Back to the weights the suffix started with. */
  reset(): void {
    this.weights.set(this.initial)
  }

  /** `steps` Adam steps of `optimizer` on `count` rows of features `x` (flat, row after row) with answers `y` (0/1). */
  async train(optimizer: Adam, x: Float32Array, y: Float32Array, count: number, steps: number): Promise<void> {
    const session = await this.sessionFor()
    const feeds = this.feedsFor(x, y, count)
    const gradient = new Float64Array(this.weights.length)
    for (let s = 0; s < steps; s++) optimizer.apply(this.weights, await this.run(session, feeds, gradient))
  }

  /** The gradient of the mean loss at the current weights (for checks against TF.js's autodiff). */
  async gradient(x: Float32Array, y: Float32Array, count: number): Promise<Float64Array> {
    return this.run(await this.sessionFor(), this.feedsFor(x, y, count), new Float64Array(this.weights.length))
  }

  private feedsFor(x: Float32Array, y: Float32Array, count: number): Record<string, Ort.Tensor> {
    const ort = requireOrt()
    return {
      ...this.feeds,
      [IMAGE]: new ort.Tensor('float32', x, [count, ...this.t.featureShape]),
      [ONEHOT]: new ort.Tensor('float32', y, [count, 1])
    }
  }

  private async run(session: Ort.InferenceSession, feeds: Record<string, Ort.Tensor>, into: Float64Array): Promise<Float64Array> {
    const out = await session.run(feeds, this.names)
    let o = 0
    for (const name of this.names) {
      const g = out[name].data as Float32Array
      into.set(g, o)
      o += g.length
    }
    return into
  }

  /** Writes the trained weights into the suffix (and so the full model, which shares its layers). */
  writeWeights(): void {
    writeTrainable(this.t.suffix, this.weights)
  }

  dispose(): void {
    void this.session?.then((s) => s.release()).catch(() => {})
  }

  private sessionFor(): Promise<Ort.InferenceSession> {
    this.session ??= ortSession(trainGraph(this.layers, this.t.featureShape))
    return this.session
  }
}
