// One featurizing thread: runs the frozen prefix on batches of images sent by the pool, on
// TF.js or on ONNX Runtime (one intra-op thread: the pool has one thread per core already).
import { parentPort, workerData } from 'node:worker_threads'
import { setPriority } from 'node:os'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend'
import { FeaturizerName, requireOrt } from './featurizer'
import { loadModel, ModelFiles } from './model-io'
import { prefixModel, splitPoint } from './transfer'
import { ImageSet, toInputBuffer } from '../data/dataset'
import { tfjsToOnnx } from '../onnx/convert'
import type { InputSpec } from '../../shared/base-spec'

export interface FeaturizeInit {
  files: ModelFiles
  unfreeze: number
  backend?: string
  featurizer: FeaturizerName
  featureLayer?: string
  /** The base's input; images of another size (MNIST, IDX) are resized to it here. */
  input?: InputSpec
  /** Run below normal priority (Linux: this thread's nice value), so the UI's processes come first. */
  background?: boolean
}
export interface FeaturizeJob {
  job: number
  set: ImageSet
}

type Run = (x: Float32Array, shape: [number, number, number, number]) => Promise<Float32Array>

const init = workerData as FeaturizeInit
// On Linux the nice value is per thread, and pid 0 means the calling thread; elsewhere it would be the whole process.
if (init.background && process.platform === 'linux') setPriority(0, 10)

const ready: Promise<Run> = (async () => {
  await initBackend(init.backend as never)
  const base = await loadModel(init.files)
  if (init.featurizer === 'onnxruntime') {
    const { layers, splitIndex } = splitPoint(base, init.unfreeze, init.featureLayer)
    const upTo = layers[splitIndex].name
    base.dispose()
    const ort = requireOrt()
    const session = await ort.InferenceSession.create(tfjsToOnnx(init.files, { upTo }), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all'
    })
    return async (x, shape) => {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) })
      return out[session.outputNames[0]].data as Float32Array
    }
  }
  const prefix = prefixModel(base, init.unfreeze, init.featureLayer)
  return async (x, shape) => {
    const out = tf.tidy(() => prefix.predict(tf.tensor4d(x, shape)) as tf.Tensor)
    const features = (await out.data()) as Float32Array
    out.dispose()
    return features
  }
})()

parentPort!.on('message', async ({ job, set }: FeaturizeJob) => {
  try {
    const run = await ready
    const all = Int32Array.from({ length: set.count }, (_, i) => i)
    const { data, height, width, channels } = toInputBuffer(set, all, init.input)
    const size = init.input?.size
    if (size && (size[0] !== height || size[1] !== width)) {
      // MNIST or IDX images of another size than the base's input (folder images arrive resized).
      const resized = tf.tidy(
        () => tf.image.resizeBilinear(tf.tensor4d(data, [set.count, height, width, channels]), size, true).dataSync() as Float32Array
      )
      const features = await run(resized, [set.count, size[0], size[1], channels])
      parentPort!.postMessage({ job, features }, [features.buffer as ArrayBuffer])
      return
    }
    const features = await run(data, [set.count, height, width, channels])
    parentPort!.postMessage({ job, features }, [features.buffer as ArrayBuffer])
  } catch (err) {
    parentPort!.postMessage({ job, error: (err as Error).message })
  }
})
