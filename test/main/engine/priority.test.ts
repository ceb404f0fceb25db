// Featurizing and training threads started for a UI run below normal priority: on Linux each
// thread has its own nice value, read here from /proc for every thread of this process.
import { describe, it, expect, beforeAll } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { initBackend } from '../../../src/main/engine/backend'
import { defaultBaseDir } from '../../../src/main/engine/base'
import { buildBaseModel } from '../../../src/main/engine/base-model'
import { FeaturizePool, featurizeInit } from '../../../src/main/engine/features'
import { readModelFiles } from '../../../src/main/engine/model-io'
import { ParallelTrainer } from '../../../src/main/engine/parallel-train'
import { BACKGROUND_NICE } from '../../../src/main/engine/threads'
import { loadMnist } from '../../../src/main/data/mnist'
import { pickImages } from '../../../src/main/data/dataset'

const mnist = loadMnist({ pool: 64, test: 64 })
const first = (n: number) => Int32Array.from({ length: n }, (_, i) => i)
let backend = ''
beforeAll(async () => void (backend = await initBackend()))

/** The nice value of every thread of this process (field 19 of /proc/self/task/<tid>/stat). */
function threadNices(): number[] {
  const nices: number[] = []
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // Fields after the command name, which is in parentheses and may hold spaces: state is field 3.
      nices.push(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]))
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return nices
}
const backgroundThreads = () => threadNices().filter((n) => n === BACKGROUND_NICE).length

describe.runIf(process.platform === 'linux')('thread priority', () => {
  it.each(['onnxruntime', 'tfjs'] as const)(
    'featurizing threads for a UI run at nice 10 (%s), others at normal priority',
    async (featurizer) => {
      const before = backgroundThreads()
      const files = readModelFiles(defaultBaseDir())
      for (const background of [false, true]) {
        const pool = new FeaturizePool(featurizeInit(files, 0, { backend, featurizer, background }), 2, 1)
        try {
          // Both threads busy at once, so both have started and loaded their model.
          const replies = await Promise.all([0, 1].map(() => pool.run({ set: pickImages(mnist.pool, first(16)) })))
          expect(replies.every((r) => r.features?.length === 16 * 10)).toBe(true)
          expect(backgroundThreads() - before).toBe(background ? 2 : 0)
        } finally {
          await pool.close()
        }
      }
      await expect.poll(backgroundThreads).toBe(before)
    }
  )

  it.each(['onnxruntime', 'tfjs'] as const)('training threads for a UI run at nice 10 (%s), others at normal priority', async (engine) => {
    const before = backgroundThreads()
    for (const background of [false, true]) {
      const trainer = new ParallelTrainer(buildBaseModel(1), {
        batchSize: 64,
        learningRate: 0.001,
        threads: 2,
        backend,
        engine,
        background
      })
      try {
        await trainer.step(mnist.pool, first(64))
        expect(backgroundThreads() - before).toBe(background ? 2 : 0)
      } finally {
        await trainer.dispose()
      }
    }
    await expect.poll(backgroundThreads).toBe(before)
  })
})
