// `curator bench`: the figures the README quotes, measured in one run on this machine.
import * as tf from '@tensorflow/tfjs'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { resolve } from 'node:path'
import { DEFAULT_CONFIG } from '../../shared/contract'
import { headOf, toInputBuffer } from '../data/dataset'
import { buildBaseModel } from '../engine/base-model'
import { featurizeAll } from '../engine/features'
import { defaultFeaturizer, FeaturizerName, onnxRuntimeLoads } from '../engine/featurizer'
import { prepare, disposePrepared } from '../engine/setup'
import { loopConfigOf, warmUp } from '../engine/loop'
import { simulate } from '../engine/simulate'
import { progressPrinter, startBackend } from './output'
import { largePoolBench, servingMemory } from './bench-scale'
import { loadModel } from '../engine/model-io'
import { defaultTrainer, ParallelTrainer, TrainerName } from '../engine/parallel-train'

export interface BenchArgs {
  json: boolean
  iterations: number
  naiveSubset: number
  featurizeImages: number
  pretrainBatches: number
  /** Measure PyTorch on the same network in this run (scripts/torch-reference.py). */
  reference: boolean
  referenceSeconds: number
  /** Also featurize and iterate on a pool of this many shifted MNIST images (0: not). */
  largePool: number
  /** Measure a `curator serve` process's memory with the default session open. */
  serveMemory: boolean
}

/** What the reference script prints (the fields the bench uses). */
interface TorchFigures {
  torch: string
  threads: number
  forwardImagesPerSec: number | null
  trainImagesPerSec: number | null
  /** --only unfreeze: ms per --unfreeze N fit, by N. */
  unfreezeFitMs?: Record<string, number>
  ompWaitPolicy: string
}

/** Debian's python with python3-torch; another python3 may come first on PATH. */
const PYTHON = () => process.env.CURATOR_PYTHON ?? '/usr/bin/python3'

function referenceScript(): string | null {
  const candidates = [
    resolve(__dirname, '../../scripts/torch-reference.py'),
    resolve(__dirname, '../../../scripts/torch-reference.py'),
    resolve('scripts/torch-reference.py')
  ]
  return candidates.find((f) => existsSync(f)) ?? null
}

/** PyTorch (2 threads) on the base network, measured now: the other half of a ratio. Null fields say why not. */
function torchReference(only: 'forward' | 'train' | 'unfreeze', baseDir: string, seconds: number): TorchFigures | { error: string } {
  const script = referenceScript()
  if (!script) return { error: 'scripts/torch-reference.py not found' }
  const r = spawnSync(PYTHON(), [script, '--model', baseDir, '--threads', '2', '--only', only, '--seconds', String(seconds)], {
    encoding: 'utf8'
  })
  if (r.error) return { error: `${PYTHON()}: ${r.error.message}` }
  if (r.status !== 0) return { error: (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`).slice(0, 200) }
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TorchFigures
}

const percentile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}
const r2 = (x: number) => Math.round(x * 100) / 100

export async function benchCommand(a: BenchArgs): Promise<void> {
  const backend = await startBackend()
  const log = (s: string) => !a.json && console.error(s)
  const config = { ...DEFAULT_CONFIG, strategy: 'uncertainty' as const }

  // 1. Iteration latency on the 60k pool: fit + score the pool + evaluate + pick the next batch.
  log('Preparing the MNIST pool (features are cached after the first run)...')
  const openedAt = performance.now()
  const p = await prepare(config, { backend, onProgress: a.json ? undefined : progressPrinter() })
  const openMs = performance.now() - openedAt
  // The studio's engine warms the iteration's code up while the first batch is on screen, before
  // the first four answers can come (see WarmUp in loop.ts); the iterations below come after it too.
  const warmedAt = performance.now()
  await warmUp(p.learner, loopConfigOf(config, p.base))
  const open = { ms: Math.round(openMs), warmUpMs: Math.round(performance.now() - warmedAt) }
  const times: number[] = []
  await simulate(p, {
    strategy: config.strategy,
    batchSize: config.batchSize,
    budget: a.iterations * config.batchSize,
    onIteration: (r) => void (r.iteration > 0 && times.push(r.iterationMs))
  })
  const iterationMs = { p50: r2(percentile(times, 0.5)), p95: r2(percentile(times, 0.95)), n: times.length }
  log(
    `iteration: p50 ${iterationMs.p50} ms, p95 ${iterationMs.p95} ms over ${times.length} iterations (after the open, ${open.ms} ms, and the warm-up, ${open.warmUpMs} ms)`
  )

  // 2. The naive iteration, as the 2019 demo did it: fit the whole frozen model on the labelled
  //    images, then push the pool through the CNN. The pool pass is timed on a subset and scaled.
  const base = await loadModel(p.base.files)
  base.layers.forEach((l) => (l.trainable = false))
  const head = tf.layers.dense({ units: 1, activation: 'sigmoid' })
  const full = tf.model({ inputs: base.inputs, outputs: head.apply(base.outputs[0]) as tf.SymbolicTensor })
  full.compile({ optimizer: tf.train.adam(0.1), loss: 'binaryCrossentropy' })
  const pool = p.dataset.pool
  const labelled = Int32Array.from({ length: 40 }, (_, i) => i)
  const lx = toInputBuffer(pool, labelled)
  const xs = tf.tensor4d(lx.data, [labelled.length, 28, 28, 3])
  const ys = tf.tensor2d(Array.from(labelled, (i) => [p.poolTruth![i]]))
  await full.fit(xs, ys, { epochs: 1, batchSize: 128, verbose: 0 }) // warm-up
  let t0 = performance.now()
  await full.fit(xs, ys, { epochs: 1, batchSize: 128, verbose: 0 })
  const naiveFitMs = performance.now() - t0
  const subset = headOf(pool, a.naiveSubset)
  const sx = toInputBuffer(
    subset,
    Int32Array.from({ length: subset.count }, (_, i) => i)
  )
  const sTensor = tf.tensor4d(sx.data, [subset.count, 28, 28, 3])
  tf.tidy(() => (full.predict(sTensor.slice(0, 128), { batchSize: 128 }) as tf.Tensor).dataSync()) // warm-up
  t0 = performance.now()
  tf.tidy(() => (full.predict(sTensor, { batchSize: 128 }) as tf.Tensor).dataSync())
  const subsetPredictMs = performance.now() - t0
  const naivePredictMs = (subsetPredictMs * pool.count) / subset.count
  const naiveIterationMs = naiveFitMs + naivePredictMs
  tf.dispose([xs, ys, sTensor])
  log(
    `naive iteration: fit ${r2(naiveFitMs)} ms + pool pass ${r2(naivePredictMs)} ms (timed on ${subset.count} images, scaled to ${pool.count})`
  )

  // 3. Featurizing throughput on all cores, without the cache, right after PyTorch's forward pass.
  const torchForward = a.reference ? torchReference('forward', p.base.dir, a.referenceSeconds) : null
  const all = headOf(pool, Math.min(a.featurizeImages, pool.count))
  const testPart = p.dataset.test ? headOf(p.dataset.test, Math.max(0, a.featurizeImages - all.count)) : null
  const featurized = all.count + (testPart?.count ?? 0)
  const featurizeWith = async (featurizer: FeaturizerName) => {
    const t = performance.now()
    const sets = testPart?.count ? [all, testPart] : [all]
    await featurizeAll(p.base.files, 0, sets, {
      backend,
      featurizer,
      onProgress: a.json ? undefined : progressPrinter(),
      task: `featurize (bench, ${featurizer})`
    })
    return Math.round(featurized / ((performance.now() - t) / 1000))
  }
  const featurizer = defaultFeaturizer(backend)
  const featurizeImagesPerSec = await featurizeWith(featurizer)
  log(`featurize: ${featurizeImagesPerSec} images/s over ${featurized} images on ${featurizer}, ${availableParallelism()} threads`)
  // The other engine too, when there is one, for the comparison.
  const other: FeaturizerName = featurizer === 'onnxruntime' ? 'tfjs' : 'onnxruntime'
  const otherImagesPerSec = other === 'tfjs' || onnxRuntimeLoads() ? await featurizeWith(other) : null
  if (otherImagesPerSec) log(`featurize on ${other}: ${otherImagesPerSec} images/s`)

  // 4. Pretraining throughput (batch 128, steady state after one warm-up step), right after PyTorch's:
  //    on every core (data-parallel threads), and on one thread for comparison.
  const torchTrain = a.reference ? torchReference('train', p.base.dir, a.referenceSeconds) : null
  const trainOn = async (engine: TrainerName, threads?: number) => {
    const trainer = new ParallelTrainer(buildBaseModel(1), { batchSize: 128, learningRate: 0.001, threads, backend, engine })
    try {
      const idx = Int32Array.from({ length: 128 }, (_, i) => i)
      await trainer.step(pool, idx)
      const t = performance.now()
      for (let b = 0; b < a.pretrainBatches; b++) await trainer.step(pool, idx)
      return { threads: trainer.threads, imagesPerSec: Math.round((a.pretrainBatches * 128) / ((performance.now() - t) / 1000)) }
    } finally {
      await trainer.dispose()
    }
  }
  const engine = defaultTrainer(backend, buildBaseModel(1))
  const training = await trainOn(engine)
  const pretrainImagesPerSec = training.imagesPerSec
  const oneThread = training.threads > 1 ? await trainOn(engine, 1) : training
  // The other engine too, when there is one, for the comparison.
  const otherEngine: TrainerName = engine === 'onnxruntime' ? 'tfjs' : 'onnxruntime'
  const otherTraining = otherEngine === 'tfjs' || (backend !== 'tensorflow' && onnxRuntimeLoads()) ? await trainOn(otherEngine) : null
  log(
    `pretrain: ${pretrainImagesPerSec} images/s on ${training.threads} threads (${engine} gradients, TF.js ${backend}); one thread ${oneThread.imagesPerSec}` +
      (otherTraining ? `; ${otherEngine} ${otherTraining.imagesPerSec}` : '')
  )
  // 5. The --unfreeze N fit (150 Adam steps on 40 labels, fit = converge), right after PyTorch's same fit.
  const torchUnfreeze = a.reference ? torchReference('unfreeze', p.base.dir, a.referenceSeconds) : null
  const unfreeze = await unfreezeFits(backend)
  log(
    `unfreeze fit on 40 labels: ${Object.entries(unfreeze.ms)
      .map(([n, ms]) => `${n}: ${ms} ms`)
      .join(', ')} (${unfreeze.trainer}); TF.js ${Object.entries(unfreeze.tfjsMs)
      .map(([n, ms]) => `${n}: ${ms} ms`)
      .join(', ')}`
  )
  // 6. Memory of a real serving process with the default 70k pool, and 7. a pool of a million.
  const serve = a.serveMemory ? await servingMemory(process.argv[1]) : null
  if (serve)
    log(
      'error' in serve
        ? `serve memory not measured: ${serve.error}`
        : `curator serve with the ${serve.poolSize} pool open: peak ${serve.peakRssMb} MB, now ${serve.rssMb} MB`
    )
  const large = a.largePool > 0 ? await largePoolBench(p, a.largePool, a.iterations, backend, a.json ? undefined : progressPrinter()) : null
  if (large)
    log(`pool of ${large.poolSize}: iteration p50 ${large.iterationMs.p50} ms, p95 ${large.iterationMs.p95} ms; peak ${large.peakRssMb} MB`)
  disposePrepared(p)

  const torch = torchForward && torchTrain ? mergeTorch(torchForward, torchTrain) : null
  const ratio = (ours: number, theirs: number | null | undefined) => (theirs ? r2(ours / theirs) : null)
  const result = {
    backend,
    featurizer,
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
    poolSize: pool.count,
    open,
    iterationMs,
    naiveIterationMs: Math.round(naiveIterationMs),
    naive: {
      fitMs: r2(naiveFitMs),
      poolPassMs: Math.round(naivePredictMs),
      measuredOn: subset.count,
      scaledTo: pool.count,
      note: `pool pass timed on ${subset.count} images and scaled to ${pool.count}`
    },
    speedup: Math.round(naiveIterationMs / iterationMs.p50),
    speedupAtP95: Math.round(naiveIterationMs / iterationMs.p95),
    featurizeImagesPerSec,
    featurizeImages: featurized,
    featurizeByEngine: { [featurizer]: featurizeImagesPerSec, ...(otherImagesPerSec ? { [other]: otherImagesPerSec } : {}) },
    pretrainImagesPerSec,
    training: {
      backend,
      engine,
      threads: training.threads,
      batch: 128,
      imagesPerSec: training.imagesPerSec,
      oneThreadImagesPerSec: oneThread.imagesPerSec,
      byEngine: { [engine]: training.imagesPerSec, ...(otherTraining ? { [otherEngine]: otherTraining.imagesPerSec } : {}) }
    },
    unfreeze: {
      ...unfreeze,
      pytorchMs: torchUnfreeze && !('error' in torchUnfreeze) ? (torchUnfreeze.unfreezeFitMs ?? null) : null,
      note: '--unfreeze N, fit converge: 150 full-batch Adam steps on 40 labels (the frozen activations cached), ms per fit'
    },
    serveMemory: serve,
    largePool: large,
    pytorch: torch,
    ratios:
      torch && !('error' in torch)
        ? {
            featurize: ratio(featurizeImagesPerSec, torch.forwardImagesPerSec),
            train: ratio(pretrainImagesPerSec, torch.trainImagesPerSec),
            // Speed as a ratio: PyTorch's ms per fit over ours.
            unfreeze:
              torchUnfreeze && !('error' in torchUnfreeze) && torchUnfreeze.unfreezeFitMs
                ? Object.fromEntries(Object.entries(unfreeze.ms).map(([n, ms]) => [n, ratio(torchUnfreeze.unfreezeFitMs![n] ?? 0, ms)]))
                : null
          }
        : null
  }
  if (torch && 'error' in torch) log(`PyTorch reference not measured: ${torch.error}`)
  console.log(a.json ? JSON.stringify(result) : JSON.stringify(result, null, 2))
}

/** Median ms per --unfreeze N fit on the first 40 pool images, all labelled (the default trainer, and TF.js at N 1-2). */
async function unfreezeFits(backend: string): Promise<{ trainer: string; ms: Record<string, number>; tfjsMs: Record<string, number> }> {
  const ms: Record<string, number> = {}
  const tfjsMs: Record<string, number> = {}
  let trainer = 'tfjs'
  const config = { ...DEFAULT_CONFIG, poolLimit: 40, testLimit: 1 }
  for (const n of [1, 2, 3, 4]) {
    for (const which of n <= 2 ? [undefined, 'tfjs' as const] : [undefined]) {
      const p = await prepare({ ...config, unfreeze: n }, { backend, trainer: which })
      try {
        const batches = [
          Array.from({ length: p.dataset.pool.count }, (_, i) => ({ id: i, value: (p.poolTruth![i] === 1 ? 1 : 0) as 0 | 1 }))
        ]
        await p.learner.fit(batches) // warm-up
        const times: number[] = []
        for (let k = 0; k < 5; k++) {
          const t = performance.now()
          await p.learner.fit(batches)
          times.push(performance.now() - t)
        }
        if (which) tfjsMs[n] = r2(percentile(times, 0.5))
        else {
          ms[n] = r2(percentile(times, 0.5))
          trainer = p.learner.trainer ?? trainer
        }
      } finally {
        disposePrepared(p)
      }
    }
  }
  return { trainer, ms, tfjsMs }
}

function mergeTorch(forward: TorchFigures | { error: string }, train: TorchFigures | { error: string }): TorchFigures | { error: string } {
  if ('error' in forward) return forward
  if ('error' in train) return train
  return {
    ...forward,
    trainImagesPerSec: train.trainImagesPerSec,
    ompWaitPolicy: `forward: ${forward.ompWaitPolicy}; train: ${train.ompWaitPolicy}`
  }
}
