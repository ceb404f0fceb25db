// Cuts the frozen base at the split point and puts the trainable suffix + sigmoid head on top.
// The suffix reuses the base's own layer objects, so the assembled full model and the
// split path (cached features -> suffix -> head) share weights and must predict the same.
import * as tf from '@tensorflow/tfjs'
import { CuratorError } from '../../shared/errors'

/** Beyond this the cached activations get large (conv22 output: 1.5k floats an image). */
export const MAX_UNFREEZE = 4

export interface TransferModel {
  base: tf.LayersModel
  /** The base's layers after the input, bottom to top. */
  layers: tf.layers.Layer[]
  /** Index (in layers) of the last frozen layer; its output is what the cache holds. */
  splitIndex: number
  splitName: string
  prefix: tf.LayersModel
  head: tf.layers.Layer
  /** Cached features -> trainable suffix -> head: what trains each iteration. */
  suffix: tf.LayersModel
  /** Image -> base -> head: what gets exported. */
  full: tf.LayersModel
  featureShape: number[]
}

export function splitPoint(base: tf.LayersModel, unfreeze: number): { layers: tf.layers.Layer[]; splitIndex: number } {
  const layers = base.layers.filter((l) => l.getClassName() !== 'InputLayer')
  if (!Number.isInteger(unfreeze) || unfreeze < 0 || unfreeze > Math.min(MAX_UNFREEZE, layers.length - 1)) {
    throw new CuratorError('BAD_ARGUMENT', `--unfreeze must be an integer from 0 to ${Math.min(MAX_UNFREEZE, layers.length - 1)}, got ${unfreeze}`)
  }
  return { layers, splitIndex: layers.length - 1 - unfreeze }
}

/** A model that computes the frozen prefix: image -> output of the split layer. */
export function prefixModel(base: tf.LayersModel, unfreeze: number): tf.LayersModel {
  const { layers, splitIndex } = splitPoint(base, unfreeze)
  return tf.model({ inputs: base.inputs, outputs: layers[splitIndex].output as tf.SymbolicTensor })
}

export function buildTransfer(base: tf.LayersModel, unfreeze: number, seed: number): TransferModel {
  const { layers, splitIndex } = splitPoint(base, unfreeze)
  layers.forEach((l, i) => (l.trainable = i > splitIndex))
  const prefix = prefixModel(base, unfreeze)
  const head = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed }) })
  const featureShape = (layers[splitIndex].outputShape as (number | null)[]).slice(1) as number[]
  const featureInput = tf.input({ shape: featureShape, name: 'features' })
  let x: tf.SymbolicTensor = featureInput
  for (const l of layers.slice(splitIndex + 1)) x = l.apply(x) as tf.SymbolicTensor
  const suffix = tf.model({ inputs: featureInput, outputs: head.apply(x) as tf.SymbolicTensor, name: 'suffix' })
  const full = tf.model({ inputs: base.inputs, outputs: head.apply(base.outputs[0]) as tf.SymbolicTensor, name: 'curator_transfer' })
  return { base, layers, splitIndex, splitName: layers[splitIndex].name, prefix, head, suffix, full, featureShape }
}
