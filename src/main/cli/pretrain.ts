import { loadMnist } from '../data/mnist'
import { pretrain, writeBaseModel, PREPROCESSING } from '../engine/pretrain'
import { defaultBaseDir } from '../engine/base'
import { progressPrinter, startBackend } from './output'

export async function pretrainCommand(opts: { epochs: number; seed: number; out?: string; limit?: number }): Promise<void> {
  const backend = await startBackend()
  const ds = loadMnist({ pool: opts.limit })
  const out = opts.out ?? defaultBaseDir()
  console.error(`Pretraining the digit CNN on ${ds.pool.count} MNIST images, ${opts.epochs} epochs, seed ${opts.seed}, backend ${backend}`)
  const r = await pretrain(ds.pool, ds.test!, { epochs: opts.epochs, seed: opts.seed, onProgress: progressPrinter() })
  const meta = await writeBaseModel(out, r.model, {
    id: 'mnist-digits-cnn',
    description: "The original demo's digit CNN, trained on MNIST's 60k training images",
    architecture: '3x conv16, maxpool, 3x conv32, global max pool, dense128 tanh, dense10 softmax',
    classNames: ds.classNames!,
    dataset: { id: ds.id, hash: ds.hash, trainImages: ds.pool.count, testImages: ds.test!.count },
    preprocessing: PREPROCESSING,
    training: { epochs: opts.epochs, seed: opts.seed, batchSize: 128, optimizer: 'adam lr 0.001, x0.7 per epoch', backend, imagesPerSec: Math.round(r.imagesPerSec), seconds: Math.round(r.seconds) },
    testAccuracy: r.testAccuracy,
    createdAt: new Date().toISOString()
  })
  console.log(JSON.stringify({ out, testAccuracy: r.testAccuracy, imagesPerSec: Math.round(r.imagesPerSec), seconds: Math.round(r.seconds), hash: meta.hash, backend }))
}
