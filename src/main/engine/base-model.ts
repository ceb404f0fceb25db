// The original demo's digit CNN ("network 1"), exactly: 33,738 parameters, input (None, None, 3).
import * as tf from '@tensorflow/tfjs'

export const BASE_PARAMS = 33738

export function buildBaseModel(seed: number, classes = 10): tf.LayersModel {
  let k = 0
  const init = () => tf.initializers.glorotUniform({ seed: seed * 101 + k++ })
  const conv = (filters: number, name: string) =>
    tf.layers.conv2d({ filters, kernelSize: 3, activation: 'relu', padding: 'valid', kernelInitializer: init(), name })
  // tf.input's typings say number[], but null (any size) is what makes the CNN size-agnostic.
  const input = tf.input({ shape: [null, null, 3] as unknown as number[], name: 'image' })
  let x = conv(16, 'conv11').apply(input) as tf.SymbolicTensor
  x = conv(16, 'conv12').apply(x) as tf.SymbolicTensor
  x = conv(16, 'conv13').apply(x) as tf.SymbolicTensor
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'maxpool' }).apply(x) as tf.SymbolicTensor
  x = conv(32, 'conv21').apply(x) as tf.SymbolicTensor
  x = conv(32, 'conv22').apply(x) as tf.SymbolicTensor
  x = conv(32, 'conv23').apply(x) as tf.SymbolicTensor
  x = tf.layers.globalMaxPooling2d({ name: 'global_maxpool' }).apply(x) as tf.SymbolicTensor
  x = tf.layers.dense({ units: 128, activation: 'tanh', kernelInitializer: init(), name: 'dense' }).apply(x) as tf.SymbolicTensor
  const out = tf.layers
    .dense({ units: classes, activation: 'softmax', kernelInitializer: init(), name: 'classes' })
    .apply(x) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: out, name: 'curator_base' })
}
