// `curator predict --model DIR IMAGE...`: loads an exported model folder with plain TF.js and
// prints P(positive) per image, from PNG/JPEG files or idx:FILE[:N] (the first N images).
import { CuratorError } from '../../shared/errors'
import { startBackend } from './output'
import {
  datasetMaxSide,
  decodeImageFile,
  InputImage,
  loadExportedModel,
  parseIdxInput,
  predictImages,
  readIdxImages,
  resizeOf
} from '../export/predict'

export interface PredictArgs {
  model?: string
  inputs: string[]
  json: boolean
}

export const PREDICT_USAGE = 'curator predict --model DIR IMAGE... (PNG or JPEG files, or idx:FILE[:N]) [--json]'

export async function predictCommand(a: PredictArgs): Promise<void> {
  if (!a.model) throw new CuratorError('BAD_ARGUMENT', `Which model? Usage: ${PREDICT_USAGE}`)
  if (!a.inputs.length) throw new CuratorError('BAD_ARGUMENT', `No images given. Usage: ${PREDICT_USAGE}`)
  await startBackend()
  const m = await loadExportedModel(a.model)
  try {
    const images: InputImage[] = []
    for (const input of a.inputs) {
      const idx = parseIdxInput(input)
      if (idx) images.push(...readIdxImages(idx.file, idx.limit))
      else images.push(await decodeImageFile(input, datasetMaxSide(m.metadata), resizeOf(m.input)))
    }
    if (!images.length) throw new CuratorError('BAD_ARGUMENT', `No images in ${a.inputs.join(' ')}`)
    const p = predictImages(m, images)
    const [negative, positive] = m.labels
    const lines = images.map((img, i) => {
      const label = p[i] >= 0.5 ? positive : negative
      return a.json
        ? JSON.stringify({ input: img.source, ...(img.index === undefined ? {} : { index: img.index }), p: p[i], label })
        : `${img.name}\t${p[i].toFixed(6)}\t${label}`
    })
    if (!a.json) process.stderr.write(`P(${positive}) per image; 0.5 or more means "${positive}", less "${negative}"\n`)
    process.stdout.write(lines.join('\n') + '\n')
  } finally {
    m.model.dispose()
  }
}
