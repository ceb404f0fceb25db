// Reads and writes TF.js layers-format folders (model.json + weights.bin) without tfjs-node.
import * as tf from '@tensorflow/tfjs'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CuratorError } from '../../shared/errors'

export const WEIGHTS_FILE = 'weights.bin'

export interface ModelFiles {
  modelJson: Record<string, unknown>
  weights: Uint8Array
}

/** Serialises a model to the two files TF.js's loadLayersModel reads. */
export async function modelFiles(model: tf.LayersModel): Promise<ModelFiles> {
  let files: ModelFiles | undefined
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData as ArrayBuffer
      files = {
        modelJson: {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: null,
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs }]
        },
        weights: new Uint8Array(data)
      }
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    })
  )
  return files!
}

export async function saveModel(model: tf.LayersModel, dir: string): Promise<string> {
  const files = await modelFiles(model)
  await writeFile(join(dir, 'model.json'), JSON.stringify(files.modelJson))
  await writeFile(join(dir, WEIGHTS_FILE), files.weights)
  return hashModelFiles(files)
}

export function hashModelFiles(files: ModelFiles): string {
  return createHash('sha256').update(JSON.stringify(files.modelJson.modelTopology)).update(files.weights).digest('hex').slice(0, 16)
}

export function readModelFiles(dir: string): ModelFiles {
  if (!existsSync(join(dir, 'model.json'))) throw new CuratorError('NOT_FOUND', `No model.json in ${dir}`)
  try {
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))
    const manifest = modelJson.weightsManifest as { paths: string[] }[]
    const parts = manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))))
    const weights = new Uint8Array(Buffer.concat(parts))
    return { modelJson, weights }
  } catch (err) {
    throw new CuratorError('BAD_DATA', `Cannot read the model in ${dir}: ${(err as Error).message}`)
  }
}

export async function loadModel(files: ModelFiles): Promise<tf.LayersModel> {
  const manifest = files.modelJson.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[]
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: files.modelJson.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: manifest.flatMap((g) => g.weights),
      weightData: files.weights.slice().buffer
    })
  )
}
