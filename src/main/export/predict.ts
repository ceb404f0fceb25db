// Loads an exported model folder (model.json + weights.bin + metadata.json) with plain TF.js
// and scores images with it: PNG or JPEG files (decoded by sharp) or images from IDX files.
// What `curator predict` runs; it uses the folder alone, never the session or the studio.
import * as tf from '@tensorflow/tfjs'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as v from 'valibot'
import { InputSpec, InputSpecSchema, resolveInput } from '../../shared/base-spec'
import { CuratorError } from '../../shared/errors'
import { MIN_SIDE, toInputBuffer, uniformImageSet } from '../data/dataset'
import { decodeImage, MAX_IMAGE_FILE_BYTES, Resize } from '../data/decode'
import { readIdx } from '../data/idx'
import { loadModel, MODEL_LIMITS, readModelFiles } from '../engine/model-io'
import { containedPath, readRegularFile } from '../files/read'
import { EXPORT_FORMAT } from './model-folder'

export interface ExportedModel {
  dir: string
  model: tf.LayersModel
  /** [negative, positive] label names. */
  labels: [string, string]
  /** What the model takes: size, channels, value range and normalisation (metadata.json's input.spec). */
  input: InputSpec
  metadata: Record<string, unknown>
}

/** One image as decoded: interleaved pixels, 1 (grey) or 3 (RGB) channels. */
export interface InputImage {
  /** How the image is shown: the file, or FILE[i] for the i-th image of an IDX file. */
  name: string
  /** The file it came from, and its position in an IDX file. */
  source: string
  index?: number
  width: number
  height: number
  channels: 1 | 3
  pixels: Uint8Array
}

/** Reads metadata.json and loads the model; checks the folder is an export this code can read. */
export async function loadExportedModel(dir: string): Promise<ExportedModel> {
  const metaPath = join(dir, 'metadata.json')
  if (!existsSync(metaPath)) throw new CuratorError('NOT_FOUND', `${dir} is not an exported Curator model: it has no metadata.json`)
  let metadata: Record<string, any>
  const raw = readRegularFile(containedPath(dir, 'metadata.json', metaPath), metaPath, { maxBytes: MODEL_LIMITS.modelJsonBytes })
  try {
    metadata = JSON.parse(raw.toString('utf8'))
  } catch (err) {
    throw new CuratorError('BAD_DATA', `Cannot read ${metaPath}: ${(err as Error).message}`)
  }
  if (metadata.format !== EXPORT_FORMAT)
    throw new CuratorError('BAD_DATA', `${metaPath}: format ${JSON.stringify(metadata.format)}, expected "${EXPORT_FORMAT}"`)
  const labels = metadata.task?.labels
  if (!Array.isArray(labels) || labels.length !== 2 || !labels.every((l) => typeof l === 'string'))
    throw new CuratorError('BAD_DATA', `${metaPath}: task.labels must be [negative, positive]`)
  let input: InputSpec
  if (metadata.input?.spec !== undefined) {
    const r = v.safeParse(InputSpecSchema, metadata.input.spec)
    if (!r.success) throw new CuratorError('BAD_DATA', `${metaPath}: input.spec.${v.getDotPath(r.issues[0]) ?? ''}: ${r.issues[0].message}`)
    input = resolveInput(r.output, null)
  } else {
    // An export from before input specs: the digit CNN's preprocessing, images at their own size.
    const pre = metadata.input?.preprocessing ?? {}
    // The preprocessing this loader implements; anything else is refused rather than guessed.
    if (typeof pre.scale !== 'string' || !pre.scale.startsWith('1/255'))
      throw new CuratorError('BAD_DATA', `${metaPath}: unsupported pixel scale ${JSON.stringify(pre.scale)} (this Curator knows "1/255")`)
    if (typeof pre.channels !== 'string' || !/grey repeated into RGB/i.test(pre.channels))
      throw new CuratorError('BAD_DATA', `${metaPath}: unsupported channel handling ${JSON.stringify(pre.channels)}`)
    input = resolveInput({ size: null }, null)
  }
  const model = await loadModel(readModelFiles(dir))
  return { dir, model, labels: labels as [string, string], input, metadata }
}

/**
 * Decodes a PNG or JPEG with the decoder folder datasets use (data/decode.ts), so an image is
 * seen as the studio saw it: grey stays grey (repeated into RGB later), alpha flattened onto
 * white, EXIF orientation applied; downscaled only when the session's dataset was (maxSide).
 */
export async function decodeImageFile(file: string, maxSide = Infinity, resize: Resize = null): Promise<InputImage> {
  const bytes = readRegularFile(file, file, { maxBytes: MAX_IMAGE_FILE_BYTES })
  const d = await decodeImage(bytes, maxSide, resize)
  if (!d.ok) {
    const idx = bytes.length >= 2 && ((bytes[0] === 0 && bytes[1] === 0) || (bytes[0] === 0x1f && bytes[1] === 0x8b))
    throw new CuratorError('BAD_DATA', `Cannot use ${file}: ${d.reason}${idx ? ` (an IDX file? write idx:${file})` : ''}`)
  }
  return { name: file, source: file, width: d.width, height: d.height, channels: d.channels, pixels: d.pixels }
}

/** How images are brought to the model's input size, as the session's folder images were. */
export const resizeOf = (s: InputSpec): Resize => (s.size && s.fit !== 'none' ? { size: s.size, fit: s.fit } : null)

/** The longest side the session's dataset downscaled its images to (folder datasets), if any. */
export function datasetMaxSide(metadata: Record<string, unknown>): number {
  const id = (metadata.dataset as { id?: unknown } | undefined)?.id
  const m = typeof id === 'string' ? /[?&]maxSide=(\d+)/.exec(id) : null
  return m ? Number(m[1]) : Infinity
}

/**
 * `idx:FILE` or `idx:FILE:N` (the first N images): an IDX images file, count x rows x cols
 * (grey) or count x rows x cols x channels (1 or 3), raw or gzip-compressed.
 */
export function parseIdxInput(spec: string): { file: string; limit: number | null } | null {
  if (!spec.startsWith('idx:')) return null
  const m = /^idx:(.+?)(?::(\d+))?$/.exec(spec)
  if (!m) throw new CuratorError('BAD_ARGUMENT', `"${spec}": use idx:FILE or idx:FILE:N`)
  return { file: m[1], limit: m[2] === undefined ? null : Number(m[2]) }
}

export function readIdxImages(file: string, limit: number | null): InputImage[] {
  const { dims, data } = readIdx(file)
  if (dims.length !== 3 && !(dims.length === 4 && (dims[3] === 1 || dims[3] === 3))) {
    throw new CuratorError(
      'BAD_DATA',
      `${file}: an images file must be count x rows x cols (or x 1 or x 3 channels), got ${dims.join('x')}`
    )
  }
  const [count, height, width] = dims
  const channels = (dims[3] ?? 1) as 1 | 3
  const n = limit === null ? count : Math.min(limit, count)
  const size = height * width * channels
  return Array.from({ length: n }, (_, i) => ({
    name: `${file}[${i}]`,
    source: file,
    index: i,
    width,
    height,
    channels,
    pixels: data.subarray(i * size, (i + 1) * size)
  }))
}

/** The model's input for one image: [h, w, channels] floats, preprocessed as the session's were. */
export function inputPixels(img: InputImage, spec: InputSpec): Float32Array {
  return toInputBuffer(uniformImageSet(1, img.height, img.width, img.channels, img.pixels, null), [0], spec).data
}

/** P(positive) for each image; images of one size are scored together, in chunks. */
export function predictImages(m: ExportedModel, images: InputImage[], chunk = 256): Float32Array {
  for (const img of images) {
    if (img.width < MIN_SIDE || img.height < MIN_SIDE)
      throw new CuratorError(
        'BAD_DATA',
        `${img.name} is ${img.width}x${img.height}; the model needs images at least ${MIN_SIDE}x${MIN_SIDE}`
      )
  }
  const p = new Float32Array(images.length)
  const bySize = new Map<string, number[]>()
  images.forEach((img, i) => {
    const key = `${img.width}x${img.height}`
    bySize.set(key, [...(bySize.get(key) ?? []), i])
  })
  for (const rows of bySize.values()) {
    const { width, height } = images[rows[0]]
    for (let s = 0; s < rows.length; s += chunk) {
      const part = rows.slice(s, s + chunk)
      const c = m.input.channels
      const x = new Float32Array(part.length * width * height * c)
      part.forEach((i, k) => x.set(inputPixels(images[i], m.input), k * width * height * c))
      const size = m.input.size
      const out = tf.tidy(() => {
        // IDX images of another size than the model's input (files were resized as they were decoded).
        let t: tf.Tensor4D = tf.tensor4d(x, [part.length, height, width, c])
        if (size && (size[0] !== height || size[1] !== width)) t = tf.image.resizeBilinear(t, size, true)
        return (m.model.predict(t) as tf.Tensor).dataSync()
      })
      part.forEach((i, k) => (p[i] = out[k]))
      // A damaged or foreign model yields NaN (or values outside 0..1): an error, never a label.
      const wrong = part.find((i) => !(p[i] >= 0 && p[i] <= 1))
      if (wrong !== undefined)
        throw new CuratorError(
          'BAD_DATA',
          `The model in ${m.dir} gives ${p[wrong]} for ${images[wrong].name}, not a probability: its weights are damaged or not this model's`
        )
    }
  }
  return p
}
