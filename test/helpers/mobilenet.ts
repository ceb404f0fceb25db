// A real pretrained network as a test fixture: the MobileNetV2 that the npm package nsfwjs ships
// (MIT; TF.js layers format, weights quantised to uint8, packed as base64 in .min.js files),
// written out as a plain model folder (model.json + weights) the way a user would bring one.
// No download: the package is a dev dependency.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const require_ = createRequire(__filename)

/** Layer names of this MobileNetV2: its pooled 1,280-wide output, and the 5-class classifier on top. */
export const MOBILENET = { pooled: 'flatten_1', width: 1280, classifier: 'dense_3', inputSize: 224 }

/** Writes the model folder to `dir` (once per machine under the temp folder when dir is omitted). */
export function writeMobileNetV2(dir = join(tmpdir(), 'curator-test-mobilenet-v2')): string {
  if (existsSync(join(dir, 'model.json'))) return dir
  // The package's main file is dist/cjs/index.js; its models sit beside, in dist/models.
  const models = join(dirname(require_.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2')
  const model = require_(join(models, 'model.min.js')) as {
    modelTopology: unknown
    weightsManifest: { paths: string[]; weights: unknown[] }[]
  }
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`
  mkdirSync(tmp, { recursive: true })
  const manifest = model.weightsManifest.map((g) => {
    const paths = g.paths.map((p) => {
      writeFileSync(join(tmp, `${p}.bin`), Buffer.from(require_(join(models, `${p}.min.js`)) as string, 'base64'))
      return `${p}.bin`
    })
    return { paths, weights: g.weights }
  })
  writeFileSync(
    join(tmp, 'model.json'),
    JSON.stringify({
      format: 'layers-model',
      generatedBy: 'keras 2.2.4 (nsfwjs MobileNetV2)',
      modelTopology: model.modelTopology,
      weightsManifest: manifest
    })
  )
  try {
    renameSync(tmp, dir)
  } catch {
    rmSync(tmp, { recursive: true, force: true }) // another process wrote it first
  }
  return dir
}
