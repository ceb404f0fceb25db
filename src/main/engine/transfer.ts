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
  /** Index (in layers) of the feature layer, under the head. */
  top: number
  splitName: string
  prefix: tf.LayersModel
  head: tf.layers.Layer
  /** Cached features -> trainable suffix -> head: what trains each iteration. */
  suffix: tf.LayersModel
  /** Image -> base -> head: what gets exported. */
  full: tf.LayersModel
  featureShape: number[]
}

/**
 * Where the base is cut: `top` is the feature layer (the head sits on its output; layers above
 * it, a classifier the base came with, are left out), `splitIndex` the last frozen layer, `unfreeze`
 * layers below the feature layer. Layer indices count the base's layers after the input.
 */
export function splitPoint(
  base: tf.LayersModel,
  unfreeze: number,
  featureLayer?: string
): { layers: tf.layers.Layer[]; splitIndex: number; top: number } {
  const layers = base.layers.filter((l) => l.getClassName() !== 'InputLayer')
  const top = featureLayer === undefined ? layers.length - 1 : layers.findIndex((l) => l.name === featureLayer)
  if (top < 0) throw new CuratorError('BAD_ARGUMENT', `The base has no layer "${featureLayer}"`)
  const max = Math.min(MAX_UNFREEZE, top)
  if (!Number.isInteger(unfreeze) || unfreeze < 0 || unfreeze > max) {
    throw new CuratorError('BAD_ARGUMENT', `--unfreeze must be an integer from 0 to ${max}, got ${unfreeze}`)
  }
  const splitIndex = top - unfreeze
  // The unfrozen layers are re-applied one after another on the cached features: they must be a chain.
  for (let i = splitIndex + 1; i <= top; i++) {
    const inbound = layers[i].inboundNodes[0].inboundLayers // node 0: the base's own graph
    if (inbound.length !== 1 || inbound[0] !== layers[i - 1]) {
      throw new CuratorError(
        'BAD_ARGUMENT',
        `--unfreeze ${unfreeze}: layer ${layers[i].name} of this base does not simply follow ${layers[i - 1].name}; use --unfreeze 0`
      )
    }
  }
  return { layers, splitIndex, top }
}

/** A model that computes the frozen prefix: image -> output of the split layer. */
export function prefixModel(base: tf.LayersModel, unfreeze: number, featureLayer?: string): tf.LayersModel {
  const { layers, splitIndex } = splitPoint(base, unfreeze, featureLayer)
  return tf.model({ inputs: base.inputs, outputs: layers[splitIndex].getOutputAt(0) as tf.SymbolicTensor })
}

/**
 * `inputSize` (height, width of the images the base gets): where the base takes any size, the
 * split layer's spatial size comes from it (the cached features are flat; the suffix needs their shape).
 */
export function buildTransfer(
  base: tf.LayersModel,
  unfreeze: number,
  seed: number,
  featureLayer?: string,
  inputSize?: [number, number] | null
): TransferModel {
  const { layers, splitIndex, top } = splitPoint(base, unfreeze, featureLayer)
  layers.forEach((l, i) => (l.trainable = i > splitIndex && i <= top))
  const prefix = prefixModel(base, unfreeze, featureLayer)
  const head = tf.layers.dense({
    units: 1,
    activation: 'sigmoid',
    name: 'head',
    kernelInitializer: tf.initializers.glorotUniform({ seed })
  })
  let shape = (layers[splitIndex].outputShape as (number | null)[]).slice(1)
  if (shape.some((d) => d === null) && inputSize) {
    const channels = base.inputs[0].shape.at(-1) ?? 3
    shape = (prefix.computeOutputShape([null, ...inputSize, channels]) as (number | null)[]).slice(1)
  }
  if (shape.some((d) => d === null))
    throw new CuratorError(
      'BAD_ARGUMENT',
      `--unfreeze ${unfreeze}: the base takes images of any size, so its ${layers[splitIndex].name} output has no fixed shape; use --unfreeze 2 or less`
    )
  const featureShape = shape as number[]
  const featureInput = tf.input({ shape: featureShape, name: 'features' })
  let x: tf.SymbolicTensor = featureInput
  for (const l of layers.slice(splitIndex + 1, top + 1)) x = l.apply(x) as tf.SymbolicTensor
  const suffix = tf.model({ inputs: featureInput, outputs: head.apply(x) as tf.SymbolicTensor, name: 'suffix' })
  const full = tf.model({
    inputs: base.inputs,
    outputs: head.apply(layers[top].getOutputAt(0) as tf.SymbolicTensor) as tf.SymbolicTensor,
    name: 'curator_transfer'
  })
  return { base, layers, splitIndex, top, splitName: layers[splitIndex].name, prefix, head, suffix, full, featureShape }
}
