// Trains the base digit CNN on a labelled image set and measures its held-out accuracy.
import * as tf from '@tensorflow/tfjs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CuratorError } from '../../shared/errors'
import { Dataset, ImageSet, groupBySize, toInputBuffer } from '../data/dataset'
import { buildBaseModel } from './base-model'
import { Rng } from '../util/rng'
import { saveModel } from './model-io'
import { Progress, ProgressMeter } from '../../shared/progress'
import { EventWriter, wallTime } from '../tensorboard/writer'
import { ParallelTrainer, TrainerName } from './parallel-train'
import { backendName } from './backend'

export const PREPROCESSING = {
  scale: '1/255 (pixels 0..1)',
  channels: 'grey repeated into RGB',
  polarity: 'as stored (MNIST: white strokes on black)',
  inputShape: [null, null, 3]
}

export const LR_DECAY = 0.7

export interface PretrainOptions {
  epochs: number
  seed: number
  batchSize?: number
  learningRate?: number
  onProgress?: (p: Progress) => void
  /** Checked before every batch; true stops training with a CANCELLED error. */
  shouldStop?: () => boolean
  /** Training threads (default: one per core); the model does not depend on it. */
  threads?: number
  /** What computes the gradients (default: defaultTrainer, ONNX Runtime on wasm). */
  trainer?: TrainerName
  /** The training threads run at a lower priority (a UI is waiting on this machine's cores). */
  background?: boolean
  /** TensorBoard: loss and accuracy every `every` batches (default TB_EVERY) and per epoch, into `dir`. */
  tensorboard?: { dir: string; every?: number }
}

export const TB_EVERY = 50

export interface PretrainResult {
  model: tf.LayersModel
  testAccuracy: number
  imagesPerSec: number
  seconds: number
  /** Training threads that ran, and what computed their gradients. */
  threads: number
  trainer: TrainerName
}

export async function pretrain(train: ImageSet, test: ImageSet, opts: PretrainOptions): Promise<PretrainResult> {
  const { epochs, seed, batchSize = 128, learningRate = 0.001 } = opts
  const rng = new Rng(seed)
  const model = buildBaseModel(seed)
  const trainer = new ParallelTrainer(model, {
    batchSize,
    learningRate,
    threads: opts.threads,
    engine: opts.trainer,
    backend: backendName(),
    background: opts.background
  })
  const meter = new ProgressMeter('pretrain', epochs * train.count)
  let done = 0
  let loss = 0
  let acc = 0
  const start = performance.now()
  const board = opts.tensorboard ? new EventWriter(opts.tensorboard.dir) : null
  const every = opts.tensorboard?.every ?? TB_EVERY
  let batches = 0
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      let epochLoss = 0
      let epochAcc = 0
      let epochImages = 0
      // Step decay: the last epochs polish with smaller steps.
      trainer.optimizer.learningRate = learningRate * LR_DECAY ** epoch
      // Shuffle within each image size, then train batch by batch.
      for (const group of groupBySize(train)) {
        rng.shuffle(group)
        for (let b = 0; b < group.length; b += batchSize) {
          // The threads' replies let a pending cancel message reach this thread between batches.
          if (opts.shouldStop?.()) {
            model.dispose()
            throw new CuratorError('CANCELLED', 'Pretraining was cancelled')
          }
          const idx = group.subarray(b, b + batchSize)
          const { loss: l, accuracy: a } = await trainer.step(train, idx)
          batches++
          epochLoss += l * idx.length
          epochAcc += a * idx.length
          epochImages += idx.length
          if (board && batches % every === 0)
            board.summary(batches, wallTime(), { tag: 'batch/loss', simpleValue: l }, { tag: 'batch/accuracy', simpleValue: a })
          // Exponential running averages, as Keras's progress bar shows.
          const w = done === 0 ? 1 : 0.05
          loss += w * (l - loss)
          acc += w * (a - acc)
          done += idx.length
          opts.onProgress?.(meter.at(done, { epoch: epoch + 1, loss, accuracy: acc }))
        }
      }
      // Per epoch: the mean over its images (step = epoch, counted from 1).
      board?.summary(
        epoch + 1,
        wallTime(),
        { tag: 'epoch/loss', simpleValue: epochLoss / epochImages },
        { tag: 'epoch/accuracy', simpleValue: epochAcc / epochImages }
      )
    }
    const seconds = (performance.now() - start) / 1000
    trainer.writeWeights()
    const testAccuracy = classAccuracy(model, test)
    board?.scalar('test/accuracy', epochs, testAccuracy)
    return { model, testAccuracy, imagesPerSec: done / seconds, seconds, threads: trainer.threads, trainer: trainer.engine }
  } finally {
    board?.close()
    await trainer.dispose()
  }
}

/** 10-class accuracy of a classifier on a labelled set. */
export function classAccuracy(model: tf.LayersModel, set: ImageSet, batchSize = 500): number {
  let correct = 0
  for (const group of groupBySize(set)) {
    for (let b = 0; b < group.length; b += batchSize) {
      const idx = group.subarray(b, b + batchSize)
      const { data, height, width } = toInputBuffer(set, idx)
      const predicted = tf.tidy(() => (model.predict(tf.tensor4d(data, [idx.length, height, width, 3])) as tf.Tensor).argMax(-1).dataSync())
      for (let k = 0; k < idx.length; k++) if (predicted[k] === set.classes![idx[k]]) correct++
    }
  }
  return correct / set.count
}

export interface BaseMetadata {
  id: string
  description: string
  architecture: string
  params: number
  classNames: string[]
  dataset: { id: string; hash: string; trainImages: number; testImages: number }
  preprocessing: typeof PREPROCESSING
  training: {
    epochs: number
    seed: number
    batchSize: number
    optimizer: string
    backend: string
    /** What computed the gradients (tfjs or onnxruntime) on how many threads. */
    trainer?: string
    threads?: number
    imagesPerSec: number
    seconds: number
  }
  testAccuracy: number
  hash: string
  createdAt: string
}

/** The metadata of a base trained by pretrain() on `ds` (the CLI's and the studio's, alike). */
export function baseMetadata(
  ds: Dataset,
  r: PretrainResult,
  training: { epochs: number; seed: number; backend: string }
): Omit<BaseMetadata, 'hash' | 'params'> {
  return {
    id: 'mnist-digits-cnn',
    description: `The original demo's digit CNN, trained on ${ds.pool.count.toLocaleString('en')} MNIST training images`,
    architecture: '3x conv16, maxpool, 3x conv32, global max pool, dense128 tanh, dense10 softmax',
    classNames: ds.classNames!,
    dataset: { id: ds.id, hash: ds.hash, trainImages: ds.pool.count, testImages: ds.test!.count },
    preprocessing: PREPROCESSING,
    training: {
      epochs: training.epochs,
      seed: training.seed,
      batchSize: 128,
      optimizer: 'adam lr 0.001, x0.7 per epoch',
      backend: training.backend,
      trainer: r.trainer,
      threads: r.threads,
      imagesPerSec: Math.round(r.imagesPerSec),
      seconds: Math.round(r.seconds)
    },
    testAccuracy: r.testAccuracy,
    createdAt: new Date().toISOString()
  }
}

export async function writeBaseModel(
  dir: string,
  model: tf.LayersModel,
  meta: Omit<BaseMetadata, 'hash' | 'params'>
): Promise<BaseMetadata> {
  await mkdir(dir, { recursive: true })
  const hash = await saveModel(model, dir)
  const full: BaseMetadata = { ...meta, params: model.countParams(), hash }
  await writeFile(join(dir, 'metadata.json'), JSON.stringify(full, null, 2) + '\n')
  return full
}
