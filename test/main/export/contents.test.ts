// What an export holds beyond the TF.js model, checked against the session that made it: the
// ONNX model (run in ONNX Runtime, and by the README's own Node example in a fresh process),
// the labelled dataset (labels.csv and labels.jsonl re-read and matched to the log, images/
// matched to the dataset's pixels and files) and the model card's numbers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import * as ort from 'onnxruntime-node'
import * as tf from '@tensorflow/tfjs'
import { onnx } from 'onnx-proto'
import type { SessionState } from '../../../src/shared/contract'
import { readIdx } from '../../../src/main/data/idx'
import { loadDataset } from '../../../src/main/data/load'
import { imagePixels, toInputBuffer } from '../../../src/main/data/dataset'
import { readBaseMetadata } from '../../../src/main/engine/base'
import { loadModel, readModelFiles } from '../../../src/main/engine/model-io'
import { writeBaseModel } from '../../../src/main/engine/pretrain'
import type { SessionEvent } from '../../../src/main/session/events'
import { wilson } from '../../../src/main/export/card'
import { idxKeyOf, LABEL_COLUMNS, labelRows, labelsCsv, LabelRow } from '../../../src/main/export/labels'
import { NODE_EXAMPLE } from '../../../src/main/export/model-folder'
import { gz, imagesIdx, labelsIdx } from '../../helpers/idx'
import { startTestStudio, testConfig, TestStudio } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'
import { CLASSES, writeImageFolder } from '../data/image-folder'
import { EXPORT_FILES, MNIST_DIR, ROOT, T10K_IMAGES } from './cli'

/** A CSV parser (RFC 4180: quoted cells, doubled quotes), so labels.csv is read as other tools read it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(cell)
      cell = ''
    } else if (ch === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
    } else cell += ch
  }
  return rows
}

const csvRows = (text: string) => {
  const [head, ...rows] = parseCsv(text)
  expect(head).toEqual([...LABEL_COLUMNS])
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])))
}
const readLog = (dir: string): SessionEvent[] =>
  readFileSync(join(dir, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))

/** The standing answers, straight from the log: labels in order, an undo taking back that image's last one. */
function standingFromLog(events: SessionEvent[]) {
  const answers: { id: number; value: number; at: string; iteration: number; given: number[] }[] = []
  const given = new Map<number, number[]>()
  for (const e of events) {
    if (e.type === 'label') {
      given.set(e.id, [...(given.get(e.id) ?? []), e.value])
      answers.push({ id: e.id, value: e.value, at: e.at, iteration: e.iteration, given: given.get(e.id)! })
    }
    if (e.type === 'undo') answers.splice(answers.map((a) => a.id).lastIndexOf(e.id), 1)
  }
  return answers
}

let ts: TestStudio
const trainLabels = readIdx(join(MNIST_DIR, 'train-labels-idx1-ubyte')).data
const truth = (id: number): 0 | 1 => (trainLabels[id] % 2 === 1 ? 1 : 0)

beforeAll(async () => {
  ts = await startTestStudio()
}, 300_000)
afterAll(async () => {
  await ts?.close()
})

describe('an MNIST export', () => {
  let state: SessionState
  let out: string
  let changedId: number
  let rows: LabelRow[]

  beforeAll(async () => {
    let s = await ts.studio.newSession(testConfig({ batchSize: 4, strategy: 'uncertainty' }))
    for (let batch = 0; batch < 4; batch++) {
      for (const [k, q] of s.queue.entries()) {
        // Batch 2: the first answer is given wrong, undone and given right: a changed answer.
        if (batch === 1 && k === 0) {
          await ts.studio.label(q.id, (1 - truth(q.id)) as 0 | 1, 100)
          await ts.studio.undo()
          changedId = q.id
        }
        await ts.studio.label(q.id, truth(q.id), 200 + k)
      }
      s = (await ts.studio.state())!
    }
    // Two answers of an unfinished batch: listed, not trained on.
    for (const q of s.queue.slice(0, 2)) await ts.studio.label(q.id, truth(q.id), 300)
    state = (await ts.studio.state())!
    out = join(ts.root, 'exported')
    const r = await ts.studio.exportModel(out, false, true)
    expect(r.files).toEqual([...EXPORT_FILES, 'images'].sort())
    rows = readFileSync(join(out, 'labels.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
  }, 300_000)

  it('labels.csv and labels.jsonl hold the same rows, matching the log answer for answer', () => {
    const csv = csvRows(readFileSync(join(out, 'labels.csv'), 'utf8'))
    expect(csv).toEqual(rows.map((r) => Object.fromEntries(LABEL_COLUMNS.map((c) => [c, String(r[c])]))))
    const log = readLog(state.dir)
    const standing = standingFromLog(log)
    expect(rows.map((r) => r.id)).toEqual(standing.map((a) => a.id))
    const trainedIds = new Set(state.labels.map((l) => l.id))
    const lastQuery = log.filter((e) => e.type === 'query').at(-1)!
    const unfinished = new Set(lastQuery.type === 'query' ? lastQuery.ids : []) // the batch still open
    rows.forEach((r, i) => {
      const a = standing[i]
      expect(r.key).toBe(String(a.id)) // MNIST: the index in the training file, the pool's own index
      expect(r.value).toBe(a.value)
      expect(r.value).toBe(truth(r.id))
      expect(r.label).toBe(a.value ? 'odd' : 'even')
      expect(r.time).toBe(a.at)
      expect(r.iteration).toBe(a.iteration)
      expect(r.trained).toBe(!unfinished.has(r.id))
      expect(r.changed).toBe(a.given.some((v) => v !== a.value))
      expect(r.reasked).toBe(log.filter((e) => e.type === 'query' && e.ids.includes(r.id)).length > 1)
      expect(trainedIds.has(r.id)).toBe(true)
    })
    expect(rows.filter((r) => r.changed).map((r) => r.id)).toEqual([changedId])
    expect(rows.filter((r) => !r.trained)).toHaveLength(2)
    expect(rows).toHaveLength(18)
  })

  it('images/<answer>/ holds each labelled image as a PNG with the dataset pixels', async () => {
    const ds = await loadDataset('mnist', { pool: 800, test: 1 })
    for (const r of rows) {
      const file = join(out, 'images', r.label, `${r.key}.png`)
      const meta = await sharp(file).metadata()
      expect([meta.width, meta.height, meta.channels]).toEqual([28, 28, 1])
      const data = await sharp(file).extractChannel(0).raw().toBuffer()
      expect(Buffer.from(data).equals(Buffer.from(imagePixels(ds.pool, Number(r.key))))).toBe(true)
    }
  })

  it("model.onnx predicts what model.json does, and its held-out accuracy is the session's", async () => {
    const ds = await loadDataset('mnist', { pool: 1, test: 200 })
    const idx = Int32Array.from({ length: 200 }, (_, i) => i)
    const { data } = toInputBuffer(ds.test!, idx)
    const session = await ort.InferenceSession.create(join(out, 'model.onnx'))
    const p = (await session.run({ image: new ort.Tensor('float32', data, [200, 28, 28, 3]) })).p.data as Float32Array
    await session.release()
    const model = await loadModel(readModelFiles(out))
    const want = tf.tidy(() => (model.predict(tf.tensor(data, [200, 28, 28, 3])) as tf.Tensor).dataSync())
    model.dispose()
    let d = 0
    for (let i = 0; i < 200; i++) d = Math.max(d, Math.abs(p[i] - want[i]))
    expect(d).toBeLessThan(1e-4)
    const correct = Array.from(p).filter((v, i) => (v >= 0.5 ? 1 : 0) === ds.test!.classes![i] % 2).length
    expect(correct / 200).toBeCloseTo(state.history.at(-1)!.testAccuracy!, 10)
    // The file states its input layout, preprocessing and labels.
    const props = Object.fromEntries(
      onnx.ModelProto.decode(readFileSync(join(out, 'model.onnx'))).metadataProps.map((m) => [m.key, m.value])
    )
    expect(props).toMatchObject({
      labels: 'even,odd',
      input: 'NHWC float32 [batch, 28, 28, 3]',
      output: 'P(odd): sigmoid, >= 0.5 means "odd"'
    })
    expect(JSON.parse(props.preprocessing)).toMatchObject({ size: [28, 28], channels: 3, range: [0, 1] })
  })

  it("the model card states the session's numbers", () => {
    const readme = readFileSync(join(out, 'README.md'), 'utf8')
    const last = state.history.at(-1)!
    const correct = Math.round(last.testAccuracy! * state.testSize)
    const [lo, hi] = wilson(correct, state.testSize)
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`
    expect(readme).toContain(
      `**${pct(last.testAccuracy!)}** on ${state.testSize} held-out images (${correct} correct; 95 % Wilson interval ${pct(lo)} to ${pct(hi)})`
    )
    expect(readme).toContain(`${state.poolSize} pool images to ask about, ${state.testSize} held out`)
    const trained = rows.filter((r) => r.trained)
    const neg = trained.filter((r) => r.value === 0).length
    expect(readme).toContain(
      `| labels | ${trained.length} trained on (${neg} "even", ${trained.length - neg} "odd"); 2 more in an unfinished batch`
    )
    expect(readme).toContain(`| strategy | uncertainty, batches of 4, fit converge, seed ${state.config.seed} |`)
    expect(readme).toContain('![Held-out accuracy against labels given](accuracy.png)')
    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8'))
    expect(meta.labels).toBe(trained.length)
    expect(meta.onnx).toMatchObject({ file: 'model.onnx', input: 'image', output: 'p' })
  })

  it('accuracy.png is a small PNG with one dot per fit', async () => {
    const { data, info } = await sharp(join(out, 'accuracy.png')).raw().toBuffer({ resolveWithObject: true })
    expect([info.width, info.height]).toEqual([360, 180])
    let blue = 0
    for (let i = 0; i < data.length; i += info.channels) if (data[i] === 31 && data[i + 1] === 119 && data[i + 2] === 180) blue++
    expect(blue).toBeGreaterThan(state.history.length * 9)
  })

  it("the README's Node example runs as written in a fresh process and prints the model's P", async () => {
    const readme = readFileSync(join(out, 'README.md'), 'utf8')
    const block = /## Load model.onnx in Node\n```js\n([\s\S]*?)```/.exec(readme)![1]
    expect(block.trim()).toBe(NODE_EXAMPLE.trim())
    writeFileSync(join(out, 'predict.cjs'), block)
    // A test digit as a PNG, as a user would have it.
    const t10k = readFileSync(T10K_IMAGES).subarray(16, 16 + 784 * 3)
    const files = [0, 1, 2].map((i) => join(out, `digit-${i}.png`))
    for (const [i, f] of files.entries())
      await sharp(t10k.subarray(i * 784, (i + 1) * 784), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(f)
    const r = spawnSync(process.execPath, [join(out, 'predict.cjs'), ...files], {
      cwd: out,
      env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
      encoding: 'utf8'
    })
    expect(r.stderr).toBe('')
    const printed = r.stdout
      .trim()
      .split('\n')
      .map((l) => Number(l.split(' ').at(-1)))
    const model = await loadModel(readModelFiles(out))
    const x = new Float32Array(3 * 784 * 3)
    for (let i = 0; i < 3 * 784; i++) for (let c = 0; c < 3; c++) x[i * 3 + c] = t10k[i] / 255
    const want = tf.tidy(() => (model.predict(tf.tensor(x, [3, 28, 28, 3])) as tf.Tensor).dataSync())
    model.dispose()
    printed.forEach((p, i) => expect(Math.abs(p - want[i])).toBeLessThan(1e-4))
  })
})

describe('a folder export', () => {
  it('keys are the file paths, and images/<answer>/ holds the files as they were', async () => {
    const folder = await writeImageFolder(ts.root, 6)
    const config = testConfig({
      dataset: `folder:${folder.root}`,
      task: { ...testConfig().task, positiveClasses: ['seven'] },
      poolLimit: undefined,
      testLimit: undefined,
      batchSize: 3
    })
    let s = await ts.studio.newSession(config)
    for (let batch = 0; batch < 2; batch++) {
      for (const q of s.queue) await ts.studio.label(q.id, q.key!.startsWith('seven/') ? 1 : 0, 50)
      s = (await ts.studio.state())!
    }
    const out = join(ts.root, 'exported-folder')
    await ts.studio.exportModel(out, false, true)
    const rows: LabelRow[] = readFileSync(join(out, 'labels.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rows).toHaveLength(6)
    const labelled = readLog(s.dir).filter((e) => e.type === 'label')
    for (const r of rows) {
      expect(r.key).toBe(labelled.find((e) => e.type === 'label' && e.id === r.id)!.key)
      expect(CLASSES.some((c) => r.key.startsWith(`${c}/`)) || !r.key.includes('/')).toBe(true)
      expect(readFileSync(join(out, 'images', r.label, r.key)).equals(readFileSync(join(folder.root, r.key)))).toBe(true)
    }
    expect(csvRows(readFileSync(join(out, 'labels.csv'), 'utf8')).map((r) => r.key)).toEqual(rows.map((r) => r.key))
    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8'))
    expect(meta.answers).toEqual(rows.map(({ key, id, label, trained }) => ({ key, id, label, trained })))
    // A labelled file deleted since: a clear error naming it, and no half export left.
    rmSync(join(folder.root, rows[0].key))
    const again = join(ts.root, 'exported-folder-2')
    const err = await ts.studio.exportModel(again, false, true).catch((e: unknown) => e)
    expect(err).toMatchObject({
      code: 'NOT_FOUND',
      message: `The labelled image ${rows[0].key} is no longer in ${folder.root}: restore it, or export without the images`
    })
    expect(readdirSync(ts.root).filter((n) => n.includes('exported-folder-2'))).toEqual([])
  }, 300_000)
})

describe('a base with a layer type ONNX export does not cover', () => {
  it('still exports, without model.onnx, and says which layer type', async () => {
    // The test base with an UpSampling2D (size 1: the same predictions) in front.
    const base = await loadModel(readModelFiles(process.env.CURATOR_BASE_MODEL!))
    const input = tf.input({ shape: [null, null, 3] as unknown as number[], name: 'image' })
    let x = tf.layers.upSampling2d({ size: [1, 1], name: 'same_size' }).apply(input) as tf.SymbolicTensor
    for (const l of base.layers.slice(1)) x = l.apply(x) as tf.SymbolicTensor
    const dir = join(ts.root, 'upsampling-base')
    await writeBaseModel(dir, tf.model({ inputs: input, outputs: x }), readBaseMetadata(process.env.CURATOR_BASE_MODEL!))
    base.dispose()
    mkdirSync(ts.dataDir, { recursive: true })
    writeFileSync(join(ts.dataDir, 'base.json'), JSON.stringify({ dir }))
    try {
      const s = await ts.studio.newSession(testConfig({ batchSize: 4 }))
      for (const q of s.queue) await ts.studio.label(q.id, truth(q.id), 50)
      const out = join(ts.root, 'exported-upsampling')
      const r = await ts.studio.exportModel(out)
      expect(r.files).toEqual(EXPORT_FILES.filter((f) => f !== 'model.onnx'))
      const why = 'Layer type UpSampling2D (layer "same_size") is not exportable to ONNX'
      expect(JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')).onnx).toEqual({ file: null, reason: why })
      expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain(`No \`model.onnx\`: ${why}.`)
    } finally {
      rmSync(join(ts.dataDir, 'base.json'))
    }
  }, 300_000)
})

describe('the Wilson interval', () => {
  it('gives the textbook 95 % intervals', () => {
    // Wilson (1927); e.g. Newcombe (1998), Table I: 0/10 -> 0 to 0.2775, 10/10 -> 0.7225 to 1, 5/10 -> 0.2366 to 0.7634.
    const round = ([a, b]: [number, number]) => [Number(a.toFixed(4)), Number(b.toFixed(4))]
    expect(round(wilson(0, 10))).toEqual([0, 0.2775])
    expect(round(wilson(10, 10))).toEqual([0.7225, 1])
    expect(round(wilson(5, 10))).toEqual([0.2366, 0.7634])
  })
})

describe('the label rows', () => {
  const at = '2026-01-01T00:00:00.000Z'
  const q = (ids: number[]): SessionEvent => ({
    v: 1,
    type: 'query',
    at,
    iteration: 0,
    ids,
    scores: ids.map(() => 0),
    p: ids.map(() => 0.5),
    strategy: 'random'
  })
  const label = (id: number, value: 0 | 1): SessionEvent => ({ v: 1, type: 'label', at, id, value, iteration: 0, responseMs: 1 })

  it('a re-asked image, a relabel event and a remapped folder are followed', () => {
    const events: SessionEvent[] = [
      q([1, 2, 3]),
      label(1, 0),
      label(2, 1),
      label(3, 1),
      q([2, 4]),
      { v: 1, type: 'relabel', at, id: 3, value: 0, iteration: 1 }
    ]
    const remap: SessionEvent = {
      v: 1,
      type: 'remap',
      at,
      dataset: { id: 'folder:x', hash: 'h', poolSize: 9, testSize: 0 },
      ids: [
        [1, 11],
        [2, 12],
        [3, 13]
      ],
      missing: []
    }
    const answers = [11, 12, 13].map((id, k) => ({ id, value: (k === 0 ? 0 : k === 1 ? 1 : 0) as 0 | 1, at, iteration: 0, responseMs: 1 }))
    const rows = labelRows(answers, [], [...events, remap], ['no, "really"', 'yes'])
    expect(rows.map((r) => [r.id, r.reasked, r.changed])).toEqual([
      [11, false, false],
      [12, true, false],
      [13, false, true]
    ])
    // A label with a comma and quotes survives the CSV round trip.
    expect(csvRows(labelsCsv(rows)).map((r) => r.label)).toEqual(['no, "really"', 'yes', 'no, "really"'])
  })

  it('an IDX set without test files keys each image by its index in the file', async () => {
    const tmp = tempDir('curator-idx-keys-')
    try {
      const dir = join(tmp.dir, 'idx')
      mkdirSync(dir)
      const n = 50
      const { bytes, pixels } = imagesIdx(n, 20, 20)
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gz(bytes))
      writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labelsIdx(Array.from({ length: n }, (_, i) => (i * 7) % 3)))
      const ds = await loadDataset(`idx:${dir}`, { seed: 4 })
      expect(ds.id).toContain('splitSeed=4')
      const keyOf = idxKeyOf(ds.id)
      for (let id = 0; id < ds.pool.count; id++) {
        const k = Number(keyOf(id))
        expect(Buffer.from(imagePixels(ds.pool, id)).equals(Buffer.from(pixels.subarray(k * 400, (k + 1) * 400)))).toBe(true)
      }
      expect(Number(keyOf(ds.pool.count - 1))).toBeGreaterThan(ds.pool.count - 1) // keys skip the held-out images
      expect(idxKeyOf('mnist')(7)).toBe('7')
    } finally {
      tmp.remove()
    }
  })
})
