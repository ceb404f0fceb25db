// `npm run ship-features`: featurizes the embedded MNIST (pool and test) with the shipped base on
// the wasm backend, from scratch, and writes the result beside the base model
// (resources/models/mnist-cnn/features/), where a fresh install's first session reads it.
// Run it again whenever the shipped base changes.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CONFIG } from '../src/shared/contract'
import { defaultBaseDir } from '../src/main/engine/base'
import { prepare } from '../src/main/engine/setup'
import { writeShippedFeatures } from '../src/main/engine/shipped-features'
import { progressPrinter } from '../src/main/cli/output'

const backend = 'wasm'
const baseDir = process.argv[2] ?? defaultBaseDir()
const cacheDir = mkdtempSync(join(tmpdir(), 'curator-ship-features-'))
try {
  const p = await prepare(DEFAULT_CONFIG, { backend, baseDir, cacheDir, shipped: false, onProgress: progressPrinter() })
  const key = { baseHash: p.base.hash, datasetHash: p.dataset.hash, split: p.learner.transfer.splitName }
  const entries = await writeShippedFeatures(baseDir, key, { pool: p.poolFeatures, test: p.testFeatures! }, backend)
  console.log(JSON.stringify(entries, null, 2))
} finally {
  rmSync(cacheDir, { recursive: true, force: true })
}
