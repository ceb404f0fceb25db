// One featurizing thread: runs the frozen prefix on batches of images sent by the pool, on
// TF.js or on ONNX Runtime (one intra-op thread: the pool has one thread per core already).
import { parentPort, workerData } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend'
import { FeaturizerName, ortSession, requireOrt } from './featurizer'
import { loadModel, ModelFiles } from './model-io'
import { prefixModel, splitPoint } from './transfer'
import { FolderDecode, ImageSet, groupBySize, toInputBuffer } from '../data/dataset'
import { decodeFolderFile, DecodedFile, PlainImage } from '../data/folder'
import { tfjsToOnnx } from '../onnx/convert'
import { onParentMessage, runInBackground } from './threads'
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
/** Images to featurize, or image files to decode (with thumbnails when asked) and featurize. */
export type FeaturizeJob = { job: number } & ({ set: ImageSet } | { files: string[]; decode: FolderDecode; thumbs: boolean })

/** The features (of the files that decoded, in order) and, for files, what each decoded to (without the model's input). */
export interface FeaturizeReply {
  job: number
  features?: Float32Array
  results?: DecodedFile[]
  error?: string
}

type Run = (x: Float32Array, shape: [number, number, number, number]) => Promise<Float32Array>

const init = workerData as FeaturizeInit
if (init.background) runInBackground()

const ready: Promise<Run> = (async () => {
  await initBackend(init.backend as never)
  const base = await loadModel(init.files)
  if (init.featurizer === 'onnxruntime') {
    const { layers, splitIndex } = splitPoint(base, init.unfreeze, init.featureLayer)
    const upTo = layers[splitIndex].name
    base.dispose()
    const ort = requireOrt()
    const session = await ortSession(tfjsToOnnx(init.files, { upTo }))
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

/** One model run at a time in this thread (ONNX Runtime's run is asynchronous): a second batch only decodes meanwhile. */
let modelFree: Promise<unknown> = Promise.resolve()

/** Features of images of one size, resized to the base's input first where they are another size (MNIST, IDX). */
function featurizeSet(set: ImageSet): Promise<Float32Array> {
  const turn = modelFree.then(() => featurizeNow(set))
  modelFree = turn.catch(() => {})
  return turn
}

async function featurizeNow(set: ImageSet): Promise<Float32Array> {
  const run = await ready
  const all = Int32Array.from({ length: set.count }, (_, i) => i)
  const { data, height, width, channels } = toInputBuffer(set, all, init.input)
  const size = init.input?.size
  if (size && (size[0] !== height || size[1] !== width)) {
    const resized = tf.tidy(
      () => tf.image.resizeBilinear(tf.tensor4d(data, [set.count, height, width, channels]), size, true).dataSync() as Float32Array
    )
    return run(resized, [set.count, size[0], size[1], channels])
  }
  return run(data, [set.count, height, width, channels])
}

/** Images as one set, for toInputBuffer. */
function asSet(images: PlainImage[]): ImageSet {
  const offsets = new Float64Array(images.length)
  let o = 0
  images.forEach((im, k) => ((offsets[k] = o), (o += im.pixels.length)))
  const pixels = new Uint8Array(o)
  images.forEach((im, k) => pixels.set(im.pixels, offsets[k]))
  return {
    count: images.length,
    pixels,
    offsets,
    widths: Uint16Array.from(images, (im) => im.width),
    heights: Uint16Array.from(images, (im) => im.height),
    channels: Uint8Array.from(images, (im) => im.channels),
    classes: null
  }
}

/** Decodes the files (a few at a time), featurizes those that decoded, per size; the model's inputs are not sent back. */
async function featurizeFiles(files: string[], decode: FolderDecode, thumbs: boolean): Promise<Omit<FeaturizeReply, 'job'>> {
  const results: DecodedFile[] = []
  for (let b = 0; b < files.length; b += 8)
    results.push(...(await Promise.all(files.slice(b, b + 8).map((f) => decodeFolderFile(f, decode, { input: true, thumb: thumbs })))))
  const inputs = results.flatMap((r) => (r.ok ? [r.input!] : []))
  let features = new Float32Array(0)
  if (inputs.length) {
    const set = asSet(inputs)
    let dim = 0
    for (const group of groupBySize(set)) {
      const part = set.count === group.length ? set : pickSet(set, group)
      const f = await featurizeSet(part)
      dim ||= f.length / group.length
      if (f.length !== group.length * dim)
        throw new Error('Images of different sizes give features of different sizes at this split point; use --unfreeze 2 or less')
      if (features.length === 0) features = new Float32Array(set.count * dim)
      group.forEach((i, k) => features.set(f.subarray(k * dim, (k + 1) * dim), i * dim))
    }
  }
  return { features, results: results.map((r) => (r.ok ? { ...r, input: undefined } : r)) }
}

function pickSet(set: ImageSet, idx: Int32Array): ImageSet {
  return asSet(
    Array.from(idx, (i) => ({
      width: set.widths[i],
      height: set.heights[i],
      channels: set.channels[i],
      pixels: set.pixels.subarray(set.offsets[i], set.offsets[i] + set.widths[i] * set.heights[i] * set.channels[i])
    }))
  )
}

onParentMessage(async (m: FeaturizeJob) => {
  try {
    if ('set' in m) {
      const features = await featurizeSet(m.set)
      parentPort!.postMessage({ job: m.job, features }, [features.buffer as ArrayBuffer])
      return
    }
    const reply = await featurizeFiles(m.files, m.decode, m.thumbs)
    const transfer = [reply.features!.buffer as ArrayBuffer]
    // Moved, not copied, where a thumbnail owns its whole buffer.
    for (const r of reply.results!) {
      const p = r.ok ? r.thumb?.pixels : undefined
      if (p && p.byteOffset === 0 && p.byteLength === p.buffer.byteLength) transfer.push(p.buffer as ArrayBuffer)
    }
    parentPort!.postMessage({ job: m.job, ...reply }, [...new Set(transfer)])
  } catch (err) {
    parentPort!.postMessage({ job: m.job, error: (err as Error).message })
  }
})
