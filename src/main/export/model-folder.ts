// Exports the trained model as a folder TF.js loads: written to a temporary sibling folder,
// flushed, then renamed into place, so an interrupted export never leaves a half folder.
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import type { ExportResult } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { PREPROCESSING } from '../engine/pretrain'
import { LOG_FILE } from '../session/log'
import type { Studio } from '../studio/studio'
import { engineBatches } from '../studio/derive'

export const EXPORT_FORMAT = 'curator-model/1'

export async function exportModelFolder(studio: Studio, out: string | undefined, force: boolean): Promise<ExportResult> {
  const s = studio.current
  if (!s) throw new CuratorError('NO_SESSION', 'Open a session before exporting its model')
  const target = resolve(out ?? join(studio.opts.dataDir, 'exports', s.d.start.id))
  const exists = await stat(target).then(() => true, () => false)
  if (exists && !force) throw new CuratorError('EXISTS', `${target} already exists; choose another folder or use --force`)
  // --force replaces an earlier export, never the session itself or any other folder.
  if (exists && (contains(target, s.dir) || !(await isModelExport(target)))) {
    throw new CuratorError('EXISTS', `${target} exists and is not an earlier Curator model export; refusing to replace it`)
  }
  const parent = dirname(target)
  try {
    await mkdir(parent, { recursive: true })
  } catch (err) {
    throw writeError(err, parent)
  }
  const tmp = join(parent, `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`)
  try {
    await mkdir(tmp)
    // The engine's current model is the last completed fit; make sure it matches the log.
    await studio.opts.engine.iterate(engineBatches(s.d), [])
    await studio.opts.engine.exportModel(tmp)
    const { start, trains, done, current } = s.d
    const answers = [...done.flatMap((b) => b.answers), ...(current?.answers ?? [])].filter((a) => a.value !== null)
    const metadata = {
      format: EXPORT_FORMAT,
      task: { question: start.config.task.question, labels: [start.config.task.negative.name, start.config.task.positive.name], output: `P(${start.config.task.positive.name}): sigmoid, >= 0.5 means "${start.config.task.positive.name}"`, positiveClasses: start.config.task.positiveClasses },
      input: { shape: [null, null, null, 3], preprocessing: PREPROCESSING },
      base: { ...start.base, classNames: s.opened.base.classNames, unfrozenLayers: start.config.unfreeze },
      dataset: start.dataset,
      strategy: start.config.strategy,
      fit: start.config.fit,
      seed: start.config.seed,
      batchSize: start.config.batchSize,
      labels: answers.length,
      iterations: trains.map((t) => ({ iteration: t.iteration, labels: t.labels, testAccuracy: t.testAccuracy, labelledAccuracy: t.labelledAccuracy })),
      session: start.id,
      backend: s.opened.backend,
      exportedAt: new Date().toISOString()
    }
    await writeFile(join(tmp, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n')
    const csv = ['id,label,value,time', ...answers.map((a) => `${a.id},${csvCell(a.value ? start.config.task.positive.name : start.config.task.negative.name)},${a.value},${a.at}`)]
    await writeFile(join(tmp, 'labels.csv'), csv.join('\n') + '\n')
    await copyFile(join(s.dir, LOG_FILE), join(tmp, LOG_FILE))
    await writeFile(join(tmp, 'README.md'), readme(metadata.task.labels as [string, string], start.config.task.question))
    await syncTree(tmp)
    if (exists) {
      const old = `${tmp}.old`
      await rename(target, old)
      await rename(tmp, target)
      await rm(old, { recursive: true, force: true })
    } else {
      await rename(tmp, target)
    }
    return { dir: target, files: (await readdir(target)).sort() }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {})
    throw err instanceof CuratorError ? err : writeError(err, target)
  }
}

const contains = (outer: string, inner: string) => {
  const rel = relative(outer, inner)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

async function isModelExport(dir: string): Promise<boolean> {
  try {
    return JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8')).format === EXPORT_FORMAT
  } catch {
    return false
  }
}

function writeError(err: unknown, where: string): CuratorError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOTDIR' || code === 'EEXIST') return new CuratorError('NOT_WRITABLE', `Cannot export to ${where}: part of that path is a file, not a folder`)
  if (code === 'ENOSPC') return new CuratorError('DISK_FULL', `The disk is full: cannot write ${where}. Nothing was exported; free some space and try again.`)
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new CuratorError('NOT_WRITABLE', `Cannot write to ${where}: permission denied`)
  return new CuratorError('INTERNAL', `Export to ${where} failed: ${(err as Error).message}`)
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

async function syncTree(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const fh = await open(join(dir, name), 'r')
    await fh.sync()
    await fh.close()
  }
}

function readme([negative, positive]: [string, string], question: string): string {
  return `# A Curator model: "${question}"

The full model (the frozen base CNN plus the trained head) in TensorFlow.js layers format.
Its single output is P(${positive}): a sigmoid in [0, 1]; 0.5 or more means "${positive}",
less means "${negative}".

## Input
Images of any size as a float tensor [batch, height, width, 3], pixels scaled to 0..1
(grey images repeated into 3 channels). See \`metadata.json\` for the exact preprocessing.

## Load it in TensorFlow.js
\`\`\`js
const tf = require('@tensorflow/tfjs')
// Node: serve this folder over http, or read model.json and weights.bin with tf.io.fromMemory.
const model = await tf.loadLayersModel('http://localhost:8080/model.json')
const p = model.predict(tf.zeros([1, 28, 28, 3])) // P(${positive})
\`\`\`

## Convert to Keras
\`\`\`sh
pip install tensorflowjs
tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras model.json model.h5
\`\`\`

## Files
- \`model.json\`, \`weights.bin\`: the model
- \`metadata.json\`: task, labels, preprocessing, base model, strategy, seed, accuracy per iteration
- \`labels.csv\`: every label given (image id, label, value, time)
- \`session.jsonl\`: the full session log (see Curator's README)
`
}
