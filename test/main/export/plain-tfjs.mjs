// A consumer of an exported Curator model that knows nothing of Curator: plain @tensorflow/tfjs,
// node:fs and node:zlib only. Reads the folder, the first N images (and labels) of an IDX set,
// preprocesses them as metadata.json says, predicts, and prints one JSON line:
//   { backend, count, p: [...], parityAccuracy, tfVersion }
// Usage: node plain-tfjs.mjs MODEL_DIR IMAGES_IDX LABELS_IDX N
import * as tf from '@tensorflow/tfjs'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'

const [dir, imagesFile, labelsFile, countArg] = process.argv.slice(2)
const count = Number(countArg)

function idx(file) {
  let b = readFileSync(file)
  if (b[0] === 0x1f && b[1] === 0x8b) b = gunzipSync(b)
  if (b[0] !== 0 || b[1] !== 0 || b[2] !== 0x08) throw new Error(`${file}: not an unsigned-byte IDX file`)
  const rank = b[3]
  const dims = Array.from({ length: rank }, (_, i) => b.readUInt32BE(4 + 4 * i))
  return { dims, data: b.subarray(4 + 4 * rank) }
}

const meta = JSON.parse(readFileSync(`${dir}/metadata.json`, 'utf8'))
const modelJson = JSON.parse(readFileSync(`${dir}/model.json`, 'utf8'))
const weightSpecs = modelJson.weightsManifest.flatMap((g) => g.weights)
const weights = Buffer.concat(modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(`${dir}/${p}`))))
const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength)
const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }))

// The preprocessing metadata.json declares.
const pre = meta.input.preprocessing
if (!pre.scale.startsWith('1/255')) throw new Error(`unexpected scale ${pre.scale}`)
if (!/grey repeated into RGB/.test(pre.channels)) throw new Error(`unexpected channels ${pre.channels}`)

const images = idx(imagesFile)
const labels = idx(labelsFile)
const [, h, w] = images.dims
const n = Math.min(count, images.dims[0])
const x = new Float32Array(n * h * w * 3)
for (let i = 0; i < n * h * w; i++) x.fill(images.data[i] / 255, i * 3, i * 3 + 3)
const p = Array.from(tf.tidy(() => model.predict(tf.tensor4d(x, [n, h, w, 3])).dataSync()))

// Parity: the task's positive classes (digit names) against the true labels.
const positive = new Set(meta.task.positiveClasses)
let right = 0
for (let i = 0; i < n; i++) if (p[i] >= 0.5 === positive.has(String(labels.data[i]))) right++
process.stdout.write(
  JSON.stringify({ backend: tf.getBackend(), tfVersion: tf.version.tfjs, count: n, p, parityAccuracy: right / n }) + '\n'
)
