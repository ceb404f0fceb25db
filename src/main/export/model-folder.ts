// Exports the trained model as a folder: ONNX and TF.js files, metadata, the labelled dataset,
// a model card and the session log, written atomically (src/main/files/safe.ts): an interrupted
// export never leaves a half folder.
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative } from 'node:path'
import sharp from 'sharp'
import type { ExportResult } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { parseSpecOptions } from '../data/spec'
import { ModelFiles, readModelFiles } from '../engine/model-io'
import { describeInput, InputSpec } from '../../shared/base-spec'
import { PREPROCESSING } from '../engine/pretrain'
import { LOG_FILE } from '../session/log'
import type { EngineMethods, OpenedSession } from '../engine/protocol'
import type { Derived } from '../session/derive'
import type { SessionEvent } from '../session/events'
import { engineBatches, standingAnswers } from '../session/derive'
import { diskError, exists, isEmptyFolder, writeFolderAtomic } from '../files/safe'
import { accuracyCurvePng, CardData, modelCard } from './card'
import { idxKeyOf, LabelRow, labelRows, labelsCsv, labelsJsonl } from './labels'
import { ONNX_OPSET, tfjsToOnnx } from '../onnx/convert'

export const EXPORT_FORMAT = 'curator-model/1'
export const ONNX_FILE = 'model.onnx'

/** What a model export needs, as plain data: the session and the engine that holds its model. */
export interface ModelExportInput {
  /** The folder to write (absolute). */
  target: string
  /** Replace an earlier Curator export there. */
  force: boolean
  /** Copy the labelled images into images/<answer>/. */
  withImages: boolean
  session: {
    dir: string
    events: SessionEvent[]
    d: Derived
    base: Pick<OpenedSession['base'], 'classNames' | 'featureLayer' | 'input'>
    backend: string
  }
  /** exportModel writes the committed head's full model; images gives pool pixels (IDX and MNIST). */
  engine: Pick<EngineMethods, 'exportModel' | 'images'>
}

export async function exportModelFolder(x: ModelExportInput): Promise<ExportResult> {
  const { target, force, withImages, session: s } = x
  await checkExportTarget(target, force)
  let files: string[] = []
  await writeFolderAtomic(
    target,
    async (tmp) => {
      try {
        await x.engine.exportModel(tmp, engineBatches(s.d))
      } catch (err) {
        // A full disk met in the engine thread arrives as DISK_FULL with the bare system message.
        throw err instanceof CuratorError && err.code === 'DISK_FULL' ? diskError({ code: 'ENOSPC' }, target) : err
      }
      const { start, trains, done, current } = s.d
      const task = start.config.task
      const names: [string, string] = [task.negative.name, task.positive.name]
      // The model is fitted on completed batches; answers in an unfinished batch are listed, not trained on.
      // A re-asked image is listed once, with the answer that stands.
      const stands = new Set(standingAnswers(s.d))
      const rows = labelRows(
        done.flatMap((b) => b.answers).filter((a) => stands.has(a)),
        (current?.answers ?? []).filter((a) => stands.has(a)),
        s.events,
        names,
        idxKeyOf(s.d.dataset.id)
      )
      const trained = rows.filter((r) => r.trained)
      const input = inputMetadata(s.base.input)
      const output = `P(${task.positive.name}): sigmoid, >= 0.5 means "${task.positive.name}"`
      const model = readModelFiles(tmp)
      const onnx = await writeOnnx(tmp, model, {
        labels: names.join(','),
        input: input.layout,
        preprocessing: JSON.stringify(input.spec),
        output
      })
      const metadata = {
        format: EXPORT_FORMAT,
        task: { question: task.question, labels: names, output, positiveClasses: task.positiveClasses },
        input,
        base: { ...start.base, classNames: s.base.classNames, featureLayer: s.base.featureLayer, unfrozenLayers: start.config.unfreeze },
        dataset: s.d.dataset,
        strategy: start.config.strategy,
        fit: start.config.fit,
        seed: start.config.seed,
        batchSize: start.config.batchSize,
        labels: trained.length,
        pendingLabels: rows.length - trained.length,
        // Every standing answer by its file key, so the labels outlive the session (the rows of labels.csv, shorter).
        answers: rows.map(({ key, id, label, trained }) => ({ key, id, label, trained })),
        iterations: trains.map((t) => ({
          iteration: t.iteration,
          labels: t.labels,
          testAccuracy: t.testAccuracy,
          labelledAccuracy: t.labelledAccuracy
        })),
        onnx: onnx.written ? { file: ONNX_FILE, opset: ONNX_OPSET, input: 'image', output: 'p' } : { file: null, reason: onnx.reason },
        session: start.id,
        backend: s.backend,
        exportedAt: new Date().toISOString()
      }
      await writeFile(join(tmp, 'labels.csv'), labelsCsv(rows))
      await writeFile(join(tmp, 'labels.jsonl'), labelsJsonl(rows))
      if (withImages) await copyImages(x.engine, s.d.dataset.id, rows, join(tmp, 'images'))
      await writeFile(join(tmp, 'accuracy.png'), await accuracyCurvePng(trains))
      await copyFile(join(s.dir, LOG_FILE), join(tmp, LOG_FILE))
      const card: CardData = {
        question: task.question,
        labels: names,
        positiveClasses: task.positiveClasses,
        dataset: s.d.dataset,
        base: { ...start.base, unfrozenLayers: start.config.unfreeze, inputShape: imageShape(model) },
        strategy: start.config.strategy,
        fit: start.config.fit,
        batchSize: start.config.batchSize,
        seed: start.config.seed,
        trained: [trained.filter((r) => r.value === 0).length, trained.filter((r) => r.value === 1).length],
        pending: rows.length - trained.length,
        testAccuracy: trains.at(-1)?.testAccuracy ?? null,
        iterations: trains.length,
        onnx
      }
      await writeFile(join(tmp, 'README.md'), readme(card, withImages, s.base.input))
      // Written last, naming what this export wrote: a later --force replaces exactly those.
      files = [...(await readdir(tmp)), METADATA_FILE].sort()
      await writeFile(join(tmp, METADATA_FILE), JSON.stringify({ ...metadata, files }, null, 2) + '\n')
    },
    {
      // --force replaces an earlier export, never the session itself or any other folder; an empty folder is always a target.
      replace: async (dir) => force && !contains(dir, s.dir) && (await isModelExport(dir)),
      ours: 'an earlier Curator model export',
      // The user's own files beside an earlier export stay.
      keep: async (dir) => {
        const ours = await exportEntries(dir)
        return (await readdir(dir)).filter((name) => !ours.has(name))
      }
    }
  )
  return { dir: target, files }
}

const contains = (outer: string, inner: string) => {
  const rel = relative(outer, inner)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

/**
 * Refuses a target that exists and is not empty, unless `force` (which then replaces only an
 * earlier export). An empty folder (what a folder picker's "New Folder" gives) is a target.
 */
export async function checkExportTarget(target: string, force: boolean): Promise<void> {
  if (force || !(await exists(target)) || (await isEmptyFolder(target))) return
  throw new CuratorError(
    'EXISTS',
    `${target} already exists and is not empty; choose an empty or new folder, or use --force to replace an earlier Curator export there`,
    { path: target }
  )
}

const METADATA_FILE = 'metadata.json'

/** What exports written before metadata.json listed their files wrote. */
const EARLIER_EXPORT_ENTRIES = [
  'README.md',
  'accuracy.png',
  'images',
  'labels.csv',
  'labels.jsonl',
  METADATA_FILE,
  'model.json',
  ONNX_FILE,
  LOG_FILE,
  'weights.bin'
]

async function readExportMetadata(dir: string): Promise<{ format?: unknown; files?: unknown } | null> {
  try {
    return JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8'))
  } catch {
    return null
  }
}

async function isModelExport(dir: string): Promise<boolean> {
  return (await readExportMetadata(dir))?.format === EXPORT_FORMAT
}

/** The entries an earlier export in `dir` wrote: those its metadata lists, else what exports always wrote. */
async function exportEntries(dir: string): Promise<Set<string>> {
  const files = (await readExportMetadata(dir))?.files
  const listed = Array.isArray(files) && files.every((f) => typeof f === 'string' && f !== '' && !/[/\\]|^\.\.?$/.test(f))
  return new Set(listed ? (files as string[]) : EARLIER_EXPORT_ENTRIES)
}

/**
 * The input the model takes: its shape, the spec `curator predict` applies (spec), in words
 * (description), and for the digit CNN the older fields (preprocessing) earlier readers check.
 */
function inputMetadata(spec: InputSpec) {
  const digit =
    spec.channels === 3 && spec.range[0] === 0 && spec.range[1] === 1 && spec.mean.every((m) => m === 0) && spec.std.every((d) => d === 1)
  return {
    shape: [null, spec.size?.[0] ?? null, spec.size?.[1] ?? null, spec.channels],
    layout: `NHWC float32 [batch, ${spec.size ? spec.size.join(', ') : 'height, width'}, ${spec.channels}]`,
    spec,
    description: describeInput(spec),
    ...(digit ? { preprocessing: PREPROCESSING } : {})
  }
}

/**
 * model.onnx beside the TF.js files, built from them (so both hold the same weights). A base
 * with a layer type ONNX export does not cover still exports, without model.onnx, saying why.
 */
async function writeOnnx(
  dir: string,
  model: ModelFiles,
  metadata: Record<string, string>
): Promise<{ written: true } | { written: false; reason: string }> {
  let bytes: Uint8Array
  try {
    bytes = tfjsToOnnx(model, { inputName: 'image', outputName: 'p', metadata, producerVersion: EXPORT_FORMAT })
  } catch (err) {
    if (err instanceof CuratorError && err.code === 'BAD_DATA') return { written: false, reason: err.message }
    throw err
  }
  await writeFile(join(dir, ONNX_FILE), bytes)
  return { written: true }
}

/** The model's input shape without the batch axis, from its input layer ([null, null, 3]: any size). */
function imageShape(model: ModelFiles): (number | null)[] {
  const top = model.modelJson.modelTopology as {
    config?: { layers?: { class_name: string; config: { batch_input_shape?: (number | null)[] } }[] }
  }
  return top.config?.layers?.find((l) => l.class_name === 'InputLayer')?.config.batch_input_shape?.slice(1) ?? PREPROCESSING.inputShape
}

/** A folder name from an answer name: no separators, no leading dot, never empty. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what a file name must not hold
const folderName = (name: string) => name.replace(/[/\\:*?"<>|\x00-\x1f]/g, '_').replace(/^\.+/, '_') || '_'

/**
 * images/<answer>/…: a folder dataset's labelled files copied as they are (under their path in
 * the folder); IDX and MNIST images written as PNG, named by their key (index in the file).
 */
async function copyImages(engine: ModelExportInput['engine'], datasetId: string, rows: LabelRow[], dir: string): Promise<void> {
  const names = [...new Set(rows.map((r) => r.label))]
  const folders = new Map(names.map((n) => [n, folderName(n)]))
  if (new Set(folders.values()).size !== folders.size) rows.forEach((r) => folders.set(r.label, `${folderName(r.label)}-${r.value}`))
  const folder = datasetId.startsWith('folder:') ? parseSpecOptions(datasetId.slice(7), 'folder').path : null
  const dtos = folder ? [] : await engine.images(rows.map((r) => r.id))
  for (const [k, r] of rows.entries()) {
    const base = join(dir, folders.get(r.label)!)
    // A key never leaves its answer's folder: a hostile log's "../x" is flattened.
    const rel = r.key.split('/').some((p) => p === '..' || p === '') || isAbsolute(r.key) ? r.key.replace(/[/\\]/g, '_') : r.key
    const target = folder ? join(base, rel) : join(base, `${rel}.png`)
    await mkdir(dirname(target), { recursive: true })
    if (folder) {
      await copyFile(join(folder, r.key), target).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
        throw new CuratorError(
          'NOT_FOUND',
          `The labelled image ${r.key} is no longer in ${folder}: restore it, or export without the images`
        )
      })
    } else {
      const d = dtos[k]
      const channels = d.channels as 1 | 3
      const image = sharp(Buffer.from(d.pixelsBase64, 'base64'), { raw: { width: d.width, height: d.height, channels } })
      await (channels === 1 ? image.toColorspace('b-w') : image).png().toFile(target)
    }
  }
}

/** The Node example of the export README, a whole script (a test runs it as written). */
export const NODE_EXAMPLE = `// npm install onnxruntime-node sharp; then: node predict.cjs IMAGE.png ...
const ort = require('onnxruntime-node')
const sharp = require('sharp')

async function main() {
  const session = await ort.InferenceSession.create(require('node:path').join(__dirname, 'model.onnx'))
  for (const file of process.argv.slice(2)) {
    // RGB (grey repeated), transparency onto white, pixels scaled to 0..1: the model's preprocessing.
    const { data, info } = await sharp(file).flatten({ background: '#ffffff' }).toColorspace('srgb').raw()
      .toBuffer({ resolveWithObject: true })
    const x = new ort.Tensor('float32', Float32Array.from(data, (v) => v / 255), [1, info.height, info.width, 3])
    const { p } = await session.run({ image: x })
    console.log(file, p.data[0])
  }
}
main()`

/** The README's words for the model's input: size, layout, value range, how images were resized. */
function inputText(input: InputSpec): string {
  const size = input.size ? `Images of ${input.size[1]}x${input.size[0]} pixels` : 'Images of any size'
  const range =
    input.range[0] === 0 && input.range[1] === 1 ? 'pixels scaled to 0..1' : `pixels 0..255 mapped to ${input.range[0]}..${input.range[1]}`
  const norm =
    input.mean.some((m) => m !== 0) || input.std.some((d) => d !== 1)
      ? `, then (x - mean) / std with mean [${input.mean}] and std [${input.std}] per channel`
      : ''
  const resized =
    input.size && input.fit !== 'fill'
      ? ` Curator brought every image to ${input.size[1]}x${input.size[0]} keeping its aspect ratio, ${input.fit === 'pad' ? 'padded with its background color (the median of its border)' : 'cropped to the centre'}; do the same.`
      : ''
  return `${size} as a float32 tensor [batch, ${input.size ? input.size.join(', ') : 'height, width'}, ${input.channels}] (NHWC, TensorFlow's layout, in
both files), ${range}${norm}, ${input.channels === 3 ? 'grey images repeated into 3 channels' : 'color images turned grey'}, transparency flattened
onto white.${resized}`
}

function readme(card: CardData, withImages: boolean, input: InputSpec): string {
  const [negative, positive] = card.labels
  return `# A Curator model: "${card.question}"

The full model (the frozen base CNN plus the trained head), as ONNX (\`model.onnx\`) and in
TensorFlow.js layers format (\`model.json\`). Its single output is P(${positive}): a sigmoid in
[0, 1]; 0.5 or more means "${positive}", less means "${negative}".

${modelCard(card)}
## Input
${inputText(input)}
See \`metadata.json\` for the exact preprocessing (\`input.spec\`, \`input.description\`).

## Load model.onnx in Python
\`\`\`python
# pip install onnxruntime numpy pillow
import numpy as np, onnxruntime as ort
from PIL import Image
session = ort.InferenceSession("model.onnx")
img = Image.open("image.png").convert("RGBA")
white = Image.new("RGBA", img.size, "white")
x = np.asarray(Image.alpha_composite(white, img).convert("RGB"), dtype=np.float32)[None] / 255  # [1, h, w, 3]
p = session.run(["p"], {"image": x})[0][:, 0]  # P(${positive}) per image
\`\`\`

## Load model.onnx in Node
\`\`\`js
${NODE_EXAMPLE}
\`\`\`

## Load it in TensorFlow.js
\`\`\`js
// An ES module (a browser <script type="module">, or a .mjs file in Node): top-level await works there.
import * as tf from '@tensorflow/tfjs'
// Node: serve this folder over http, or read model.json and weights.bin with tf.io.fromMemory.
const model = await tf.loadLayersModel('http://localhost:8080/model.json')
const p = model.predict(tf.zeros([1, ${(input.size ?? [28, 28]).join(', ')}, ${input.channels}])) // P(${positive})
\`\`\`

## Convert to Keras
\`\`\`sh
pip install tensorflowjs
tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras model.json model.h5
\`\`\`

## The labelled dataset
\`labels.csv\` and \`labels.jsonl\` hold the same rows, one per answer standing at export time
(undone answers are not listed): \`key\` (a folder dataset's file path, relative to the folder; for
IDX and MNIST sets the image's index in the training images file), \`id\` (its index in the session's
pool, as the log names it), \`label\` and \`value\` (0 "${negative}", 1 "${positive}"), \`time\`, \`iteration\`,
\`responseMs\`, \`trained\` (false for answers in a batch not finished: listed, not trained on),
\`reasked\` (the image was asked more than once) and \`changed\` (an earlier answer to it differed).
${
  withImages
    ? `\`images/<answer>/\` holds the labelled images (folder datasets: the files as they are, under their path
in the folder; IDX and MNIST: PNGs named by key), the layout most training tools read.\n`
    : ''
}
## Files
- \`model.onnx\`: the model as ONNX (opset ${ONNX_OPSET}; input \`image\`, output \`p\`)${card.onnx.written ? '' : ` — not written: ${card.onnx.reason}`}
- \`model.json\`, \`weights.bin\`: the model in TensorFlow.js layers format
- \`metadata.json\`: task, labels, preprocessing, base model, strategy, seed, accuracy per iteration
- \`labels.csv\`, \`labels.jsonl\`: every answer given (above)${withImages ? '\n- `images/`: the labelled images, by answer' : ''}
- \`accuracy.png\`: held-out accuracy against labels given
- \`session.jsonl\`: the full session log (see Curator's README)
`
}
