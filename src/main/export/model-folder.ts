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
  // Hidden, beside the target (same filesystem, so the rename is atomic), stamped with our pid
  // so a later export can tell an abandoned one (its process was killed) from a running one.
  await removeAbandoned(parent, basename(target))
  const tmp = join(parent, `.${basename(target)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`)
  active.add(tmp)
  try {
    await mkdir(tmp)
    // The engine's current model is the last completed fit; make sure it matches the log.
    await studio.opts.engine.iterate(engineBatches(s.d), [])
    await studio.opts.engine.exportModel(tmp)
    const { start, trains, done, current } = s.d
    // The model is fitted on completed batches; answers in an unfinished batch are listed, not trained on.
    const trained = done.flatMap((b) => b.answers).filter((a) => a.value !== null)
    const pending = (current?.answers ?? []).filter((a) => a.value !== null)
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
      labels: trained.length,
      pendingLabels: pending.length,
      iterations: trains.map((t) => ({ iteration: t.iteration, labels: t.labels, testAccuracy: t.testAccuracy, labelledAccuracy: t.labelledAccuracy })),
      session: start.id,
      backend: s.opened.backend,
      exportedAt: new Date().toISOString()
    }
    await writeFile(join(tmp, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n')
    const row = (a: (typeof trained)[number], inModel: boolean) => `${a.id},${csvCell(a.value ? start.config.task.positive.name : start.config.task.negative.name)},${a.value},${a.at},${inModel}`
    const csv = ['id,label,value,time,trained', ...trained.map((a) => row(a, true)), ...pending.map((a) => row(a, false))]
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
    await syncDir(parent)
    return { dir: target, files: (await readdir(target)).sort() }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {})
    // A full disk met in the engine thread arrives as DISK_FULL with the bare system message.
    if (err instanceof CuratorError && err.code === 'DISK_FULL') throw writeError({ code: 'ENOSPC', message: err.message }, target)
    throw err instanceof CuratorError ? err : writeError(err, target)
  } finally {
    active.delete(tmp)
  }
}

/** Temporary folders of exports running in this process (never removed as abandoned). */
const active = new Set<string>()

/**
 * Removes the hidden temporary folders (`.NAME.partial-PID-HEX`, and `….old`, an earlier export
 * being replaced) that an export to the same target left when its process was killed: those
 * whose process is gone. Best effort: a folder it cannot remove stays hidden and harmless.
 */
async function removeAbandoned(parent: string, name: string): Promise<void> {
  const prefix = `.${name}.partial-`
  let entries: string[]
  try {
    entries = await readdir(parent)
  } catch {
    return
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue
    const m = /^(\d+)-[0-9a-f]{8}(\.old)?$/.exec(entry.slice(prefix.length))
    if (!m) continue
    const pid = Number(m[1])
    const path = join(parent, entry)
    const abandoned = pid === process.pid ? !active.has(path.replace(/\.old$/, '')) : !processAlive(pid)
    if (abandoned) await rm(path, { recursive: true, force: true }).catch(() => {})
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // alive, owned by someone else
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
  await syncDir(dir)
}

/** Makes a folder's entries (new files, a rename) durable. Best effort: not possible on Windows. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // best effort
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
- \`labels.csv\`: every label given (image id, label, value, time, and whether the model was fitted on it:
  answers in a batch not yet finished are listed but not trained on)
- \`session.jsonl\`: the full session log (see Curator's README)
`
}
