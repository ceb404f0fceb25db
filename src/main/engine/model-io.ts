// Reads and writes TF.js layers-format folders (model.json + weights.bin) without tfjs-node.
import * as tf from '@tensorflow/tfjs'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CuratorError } from '../../shared/errors'
import { containedPath, readRegularFile, withRegularFile } from '../files/read'

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

/** model.json and weights are read only up to these sizes (the shipped base is 150 kB). */
export const MODEL_LIMITS = { modelJsonBytes: 32 << 20, weightBytes: 512 << 20, rank: 8, dim: 1 << 24, layerDim: 1 << 16 } as const

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 }

type ManifestGroup = { paths: string[]; weights: tf.io.WeightsManifestEntry[] }

/** The bytes a weights group declares, from its shapes and dtypes; refuses malformed or huge entries. */
function groupBytes(g: ManifestGroup, where: string): number {
  if (!Array.isArray(g?.paths) || !Array.isArray(g?.weights))
    throw new CuratorError('BAD_DATA', `${where}: each weightsManifest entry needs paths and weights lists`)
  let bytes = 0
  for (const w of g.weights) {
    const name = JSON.stringify(w?.name)
    const shape = w?.shape
    if (
      !Array.isArray(shape) ||
      shape.length > MODEL_LIMITS.rank ||
      !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= MODEL_LIMITS.dim)
    ) {
      throw new CuratorError(
        'BAD_DATA',
        `${where}: weight ${name} has shape ${JSON.stringify(shape)}; expected up to ${MODEL_LIMITS.rank} whole dimensions of at most ${MODEL_LIMITS.dim}`
      )
    }
    const dtype = w.quantization?.dtype ?? w.dtype
    const size = DTYPE_BYTES[dtype as string]
    if (!size) throw new CuratorError('BAD_DATA', `${where}: weight ${name} has an unknown dtype ${JSON.stringify(dtype)}`)
    bytes += shape.reduce((a, b) => a * b, 1) * size
    if (bytes > MODEL_LIMITS.weightBytes)
      throw new CuratorError('BAD_DATA', `${where}: the weights declare over ${MODEL_LIMITS.weightBytes} bytes, more than Curator loads`)
  }
  return bytes
}

/**
 * Layer sizes in the topology are allocated when TF.js builds the model, before any weight is
 * checked: refuse sizes no model Curator reads needs.
 */
function checkTopology(x: unknown, where: string): void {
  if (Array.isArray(x)) return x.forEach((y) => checkTopology(y, where))
  if (typeof x !== 'object' || x === null) return
  for (const [k, val] of Object.entries(x)) {
    if (
      ['units', 'filters', 'input_dim', 'output_dim', 'kernel_size', 'depth_multiplier', 'target_shape', 'batch_input_shape'].includes(k)
    ) {
      const nums = (Array.isArray(val) ? val : [val]).filter((n) => n !== null)
      if (!nums.every((n) => Number.isInteger(n) && n >= 0 && n <= MODEL_LIMITS.layerDim))
        throw new CuratorError(
          'BAD_DATA',
          `${where}: a layer's ${k} of ${JSON.stringify(val)} is beyond what Curator loads (at most ${MODEL_LIMITS.layerDim})`
        )
    } else checkTopology(val, where)
  }
}

/**
 * Reads a layers-format folder safely: model.json and weight files must be regular files inside
 * `dir` (no `..`, no absolute paths, symlinks resolved and contained), their sizes must match the
 * manifest before a byte of weights is read, and the shapes are bounded.
 */
export function readModelFiles(dir: string): ModelFiles {
  const where = join(dir, 'model.json')
  if (!existsSync(where)) throw new CuratorError('NOT_FOUND', `No model.json in ${dir}`)
  const raw = readRegularFile(containedPath(dir, 'model.json', where), where, { maxBytes: MODEL_LIMITS.modelJsonBytes })
  let modelJson: Record<string, unknown>
  try {
    modelJson = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw))
  } catch (err) {
    throw new CuratorError('BAD_DATA', `${where} is not JSON: ${(err as Error).message}`)
  }
  if (typeof modelJson !== 'object' || modelJson === null || typeof modelJson.modelTopology !== 'object')
    throw new CuratorError('BAD_DATA', `${where} has no modelTopology: not a TF.js layers model`)
  checkTopology(modelJson.modelTopology, where)
  const manifest = modelJson.weightsManifest as ManifestGroup[]
  if (!Array.isArray(manifest)) throw new CuratorError('BAD_DATA', `${where} has no weightsManifest list`)
  const parts: Buffer[] = []
  for (const g of manifest) {
    const expected = groupBytes(g, where)
    const files = g.paths.map((p) => ({ p, real: containedPath(dir, p, `${where}: weights file`) }))
    const sizes = files.map(({ p, real }) => withRegularFile(real, join(dir, p), (_fd, size) => size))
    const total = sizes.reduce((a, b) => a + b, 0)
    if (total !== expected)
      throw new CuratorError(
        'BAD_DATA',
        `${where}: the weights files ${g.paths.join(', ')} hold ${total} bytes; the manifest declares ${expected}`
      )
    files.forEach(({ p, real }, i) => parts.push(readRegularFile(real, join(dir, p), { exactBytes: sizes[i] })))
  }
  return { modelJson, weights: new Uint8Array(Buffer.concat(parts)) }
}

export async function loadModel(files: ModelFiles): Promise<tf.LayersModel> {
  const manifest = files.modelJson.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[]
  try {
    return await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: files.modelJson.modelTopology as tf.io.ModelJSON['modelTopology'],
        weightSpecs: manifest.flatMap((g) => g.weights),
        weightData: files.weights.slice().buffer
      })
    )
  } catch (err) {
    throw new CuratorError('BAD_DATA', `The model's layers and weights do not fit together: ${(err as Error).message}`)
  }
}
