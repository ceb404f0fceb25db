import { join } from 'node:path'
import { loadMnist } from '../data/mnist'
import { baseMetadata, pretrain, writeBaseModel } from '../engine/pretrain'
import { defaultBaseDir } from '../engine/base'
import { TENSORBOARD_DIR } from '../tensorboard/writer'
import { progressPrinter, startBackend } from './output'

export async function pretrainCommand(opts: {
  epochs: number
  seed: number
  out?: string
  limit?: number
  logEvery?: number
}): Promise<void> {
  const backend = await startBackend()
  const ds = loadMnist({ pool: opts.limit })
  const out = opts.out ?? defaultBaseDir()
  console.error(`Pretraining the digit CNN on ${ds.pool.count} MNIST images, ${opts.epochs} epochs, seed ${opts.seed}, backend ${backend}`)
  const tensorboard = { dir: join(out, TENSORBOARD_DIR), every: opts.logEvery }
  console.error(`TensorBoard: tensorboard --logdir ${tensorboard.dir}`)
  const r = await pretrain(ds.pool, ds.test!, { epochs: opts.epochs, seed: opts.seed, onProgress: progressPrinter(), tensorboard })
  const meta = await writeBaseModel(out, r.model, baseMetadata(ds, r, { epochs: opts.epochs, seed: opts.seed, backend }))
  console.log(
    JSON.stringify({
      out,
      testAccuracy: r.testAccuracy,
      imagesPerSec: Math.round(r.imagesPerSec),
      seconds: Math.round(r.seconds),
      hash: meta.hash,
      backend,
      trainer: r.trainer,
      threads: r.threads
    })
  )
}
