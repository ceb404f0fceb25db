// One featurising thread: runs the frozen prefix on batches of images sent by the pool.
import { parentPort, workerData } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend'
import { loadModel, ModelFiles } from './model-io'
import { prefixModel } from './transfer'
import { ImageSet, toInputBuffer } from '../data/dataset'

export interface FeaturizeInit {
  files: ModelFiles
  unfreeze: number
  backend?: string
}
export interface FeaturizeJob {
  job: number
  set: ImageSet
}

const init = workerData as FeaturizeInit
const ready = (async () => {
  await initBackend(init.backend as never)
  return prefixModel(await loadModel(init.files), init.unfreeze)
})()

parentPort!.on('message', async ({ job, set }: FeaturizeJob) => {
  try {
    const prefix = await ready
    const all = Int32Array.from({ length: set.count }, (_, i) => i)
    const { data, height, width } = toInputBuffer(set, all)
    const out = tf.tidy(() => prefix.predict(tf.tensor4d(data, [set.count, height, width, 3])) as tf.Tensor)
    const features = (await out.data()) as Float32Array
    out.dispose()
    parentPort!.postMessage({ job, features }, [features.buffer as ArrayBuffer])
  } catch (err) {
    parentPort!.postMessage({ job, error: (err as Error).message })
  }
})
