// Base models: the shipped digit CNN, ones retrained into the data folder, and any TF.js layers
// model a user brings, each with what it needs of its images (curator-base.json).
import { existsSync, readdirSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import * as v from 'valibot'
import { BASE_SPEC_FILE, BaseSpecSchema, BaseSpecFile, InputSpec, resolveInput } from '../../shared/base-spec'
import { CuratorError } from '../../shared/errors'
import { readRegularFile } from '../files/read'
import { hashModelFiles, ModelFiles, readModelFiles } from './model-io'
import type { BaseMetadata } from './pretrain'

/** resources/models/mnist-cnn, found from the source tree, the build output or a packaged app. */
export function defaultBaseDir(): string {
  const env = process.env.CURATOR_BASE_MODEL
  if (env) return env
  const candidates = [
    join((process as { resourcesPath?: string }).resourcesPath ?? '', 'models', 'mnist-cnn'),
    resolve(__dirname, '../../resources/models/mnist-cnn'),
    resolve(__dirname, '../../../resources/models/mnist-cnn'),
    resolve(process.cwd(), 'resources/models/mnist-cnn')
  ]
  return candidates.find((d) => existsSync(join(d, 'model.json'))) ?? candidates[candidates.length - 1]
}

/**
 * The digit CNNs Curator trains were trained on 28x28 MNIST digits (white on black, 0..1): other
 * sizes are brought to 28x28 with the aspect kept, padded with the image's background. The head
 * sits on the 10 softmax outputs.
 */
export const DIGIT_BASE_SPEC: BaseSpecFile = { featureLayer: 'classes', input: { size: [28, 28], channels: 3, fit: 'pad', range: [0, 1] } }

/** A base model folder, read: its files, identity, and what its images must look like. */
export interface BaseInfo {
  dir: string
  files: ModelFiles
  hash: string
  id: string
  /** Names of the feature layer's units when they are classes (the head-weight bars); else []. */
  classNames: string[]
  /** The base's own held-out accuracy, when it was trained by Curator. */
  testAccuracy: number | null
  featureLayer: string
  /** Width of the feature layer's output (the head's inputs). */
  featureWidth: number | null
  input: InputSpec
  /** The metadata.json of a base Curator trained (null for a base brought by the user). */
  meta: BaseMetadata | null
}

export function readBaseMetadata(dir: string): BaseMetadata {
  try {
    return JSON.parse(readRegularFile(join(dir, 'metadata.json'), join(dir, 'metadata.json'), { maxBytes: 16 << 20 }).toString('utf8'))
  } catch (err) {
    throw new CuratorError('NOT_FOUND', `No base model metadata in ${dir}: ${(err as Error).message}`)
  }
}

interface TopologyLayer {
  name: string
  class_name: string
  config: { batch_input_shape?: (number | null)[]; units?: number; filters?: number }
}

/** The layers of a layers-format model.json, in order (functional and sequential models). */
function topologyLayers(modelJson: Record<string, unknown>, dir: string): TopologyLayer[] {
  if (modelJson.format === 'graph-model' || (modelJson.modelTopology as { node?: unknown })?.node) {
    throw new CuratorError(
      'BAD_DATA',
      `${dir} holds a TF.js graph model; Curator needs a layers model (tensorflowjs_converter --output_format=tfjs_layers_model)`
    )
  }
  const t = modelJson.modelTopology as
    { model_config?: { config?: { layers?: TopologyLayer[] } }; config?: { layers?: TopologyLayer[] } } | undefined
  const layers = t?.model_config?.config?.layers ?? t?.config?.layers
  if (!Array.isArray(layers) || !layers.length)
    throw new CuratorError('BAD_DATA', `${dir}/model.json has no layers: not a TF.js layers model`)
  return layers
}

/** Layers after which a model's classifier begins: the default feature layer is the last layer before them. */
const CLASSIFIER = new Set(['Dense', 'Dropout', 'Activation', 'Softmax'])

export function readBaseSpec(dir: string): BaseSpecFile | null {
  const path = join(dir, BASE_SPEC_FILE)
  if (!existsSync(path)) return null
  let json: unknown
  try {
    json = JSON.parse(readRegularFile(path, path, { maxBytes: 1 << 20 }).toString('utf8'))
  } catch (err) {
    throw new CuratorError('BAD_DATA', `${path} is not valid JSON: ${(err as Error).message}`)
  }
  const r = v.safeParse(BaseSpecSchema, json)
  if (!r.success) {
    const issue = r.issues[0]
    throw new CuratorError('BAD_DATA', `${path}: ${v.getDotPath(issue) ?? 'the file'}: ${issue.message}`)
  }
  return r.output
}

/** Reads a base folder: model.json + weights, metadata.json (Curator's) and curator-base.json. */
export function readBase(dir: string): BaseInfo {
  const files = readModelFiles(dir)
  const layers = topologyLayers(files.modelJson, dir)
  let meta: BaseMetadata | null = null
  if (existsSync(join(dir, 'metadata.json'))) {
    const m = readBaseMetadata(dir) as Partial<BaseMetadata>
    if (Array.isArray(m.classNames) && m.preprocessing) meta = m as BaseMetadata
  }
  // A Curator-trained digit CNN's defaults, with what its curator-base.json says on top.
  const file = readBaseSpec(dir) ?? {}
  const defaults = meta ? DIGIT_BASE_SPEC : {}
  const spec: BaseSpecFile = { ...defaults, ...file, input: { ...defaults.input, ...file.input } }
  const byName = new Map(layers.map((l, i) => [l.name, i]))
  let top = layers.length - 1
  if (spec.featureLayer !== undefined) {
    const i = byName.get(spec.featureLayer)
    if (i === undefined || layers[i].class_name === 'InputLayer') {
      const names = layers.filter((l) => l.class_name !== 'InputLayer').map((l) => l.name)
      throw new CuratorError('BAD_ARGUMENT', `No layer "${spec.featureLayer}" in ${dir}; its last layers are ${names.slice(-6).join(', ')}`)
    }
    top = i
  } else {
    while (top > 1 && CLASSIFIER.has(layers[top].class_name)) top--
  }
  const inputShape = layers.find((l) => l.class_name === 'InputLayer')?.config.batch_input_shape
  const modelSize: [number, number] | null = inputShape && inputShape[1] && inputShape[2] ? [inputShape[1], inputShape[2]] : null
  const isOutput = top === layers.length - 1
  const width = layers[top].config.units ?? null
  return {
    dir,
    files,
    hash: hashModelFiles(files),
    id: spec.name ?? meta?.id ?? basename(resolve(dir)),
    classNames: isOutput ? (spec.classNames ?? meta?.classNames ?? []) : (spec.classNames ?? []),
    testAccuracy: meta?.testAccuracy ?? null,
    featureLayer: layers[top].name,
    featureWidth: width,
    input: resolveInput(spec.input, modelSize),
    meta
  }
}

/** Base models retrained into a data folder (<dataDir>/models/*, from the start screen). */
export function retrainedBases(dataDir: string): string[] {
  const models = join(dataDir, 'models')
  return existsSync(models)
    ? readdirSync(models)
        .filter((n) => !n.startsWith('.'))
        .map((n) => join(models, n))
    : []
}

/** The first folder holding the base model with this hash, or null. */
export function findBase(hash: string, dirs: string[]): string | null {
  for (const dir of dirs) {
    try {
      const meta = existsSync(join(dir, 'metadata.json')) ? readBaseMetadata(dir) : null
      if (meta?.hash === hash || (!meta?.hash && hashModelFiles(readModelFiles(dir)) === hash)) return dir
    } catch {
      // Not a base model folder.
    }
  }
  return null
}
