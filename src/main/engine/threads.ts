// Starts our worker threads from the build output, or from source (tests, tsx) via tsx.
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

export function startWorker(name: 'engine-worker' | 'featurize-worker' | 'train-worker', workerData?: unknown): Worker {
  // Built: out/main/<name>.js, next to this chunk or one folder up (out/main/chunks/).
  for (const dir of [here, join(here, '..')]) {
    const file = join(dir, `${name}.js`)
    if (existsSync(file)) return new Worker(file, { workerData })
  }
  // From source: register tsx's CommonJS hook inside the thread, then load the TypeScript entry.
  const source = join(here, `${name}.ts`)
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(source)})`, { eval: true, workerData })
}
