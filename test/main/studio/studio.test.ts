// The studio service end to end: a real engine thread on MNIST, real session logs in temp
// folders. Every flow goes through the same Studio methods the IPC and WebSocket bindings call.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { QueryItem, SessionState } from '../../../src/shared/contract'
import { CuratorError } from '../../../src/shared/errors'
import { loadMnist } from '../../../src/main/data/mnist'
import { imagePixels } from '../../../src/main/data/dataset'
import type { SessionEvent } from '../../../src/main/session/events'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { nextEvent, startTestStudio, testConfig, TestStudio } from '../../helpers/studio'
import { EXPORT_FILES } from '../export/cli'

let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
})
afterAll(async () => {
  await ts?.close()
})

const ids = (items: { id: number }[]) => items.map((q) => q.id)
const readLog = (dir: string): SessionEvent[] =>
  readFileSync(join(dir, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
const fresh = (over = {}) => ts.studio.newSession(testConfig(over))
/** Labels the items in order and returns the state after the studio has advanced. */
async function answer(items: QueryItem[], values: (0 | 1)[] | ((q: QueryItem) => 0 | 1) = () => 1): Promise<SessionState> {
  for (const [k, q] of items.entries()) await ts.studio.label(q.id, typeof values === 'function' ? values(q) : values[k], 100 + k)
  return (await ts.studio.state())!
}
/** The parts of a state that must survive closing and reopening. */
const durable = (s: SessionState) => ({
  id: s.id,
  dir: s.dir,
  config: s.config,
  history: s.history,
  labels: s.labels,
  skipped: s.skipped,
  queue: s.queue,
  answered: s.answered,
  next: s.next,
  poolSize: s.poolSize,
  testSize: s.testSize
})

describe('before any session', () => {
  it('state() is null and labelling says there is no session', async () => {
    expect(await ts.studio.state()).toBeNull()
    await expectCuratorErrorAsync(() => ts.studio.label(0, 1, 10), 'NO_SESSION', /No session is open/)
    await expectCuratorErrorAsync(() => ts.studio.undo(), 'NO_SESSION', /No session is open/)
    await expectCuratorErrorAsync(() => ts.studio.exportModel(join(ts.root, 'nothing')), 'NO_SESSION', /Open a session/)
  })
})

describe('newSession', () => {
  it('returns iteration 0, a full batch of 28x28 grey images with their pixels, and the hidden guess', async () => {
    const s = await fresh()
    expect(s.history).toHaveLength(1)
    expect(s.history[0]).toMatchObject({ iteration: 0, labels: 0, labelledAccuracy: null })
    expect(s.history[0].testAccuracy).toBeGreaterThanOrEqual(0)
    expect(s.history[0].histogram.counts).toHaveLength(11)
    expect(s.history[0].histogram.counts.reduce((a, b) => a + b, 0)).toBe(800)
    expect(s.history[0].histogram.byTruth).not.toBeNull()
    expect(s.history[0].headWeights).toHaveLength(10)
    expect(s).toMatchObject({
      poolSize: 800,
      testSize: 200,
      labels: [],
      skipped: [],
      warnings: [],
      next: null,
      baseClassNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
    })
    expect(s.config).toEqual(testConfig())
    expect(s.backend).toMatch(/^(tensorflow|wasm|cpu)$/)
    expect(s.queue).toHaveLength(4)
    expect(new Set(ids(s.queue)).size).toBe(4)
    const pool = loadMnist({ pool: 800, test: 1 }).pool
    for (const q of s.queue) {
      expect(q).toMatchObject({ width: 28, height: 28, channels: 1 })
      const pixels = Buffer.from(q.pixelsBase64, 'base64')
      expect(pixels.length).toBe(784)
      // The very bytes of that MNIST image.
      expect(Buffer.compare(pixels, Buffer.from(imagePixels(pool, q.id)))).toBe(0)
      expect(q.p).toBeGreaterThanOrEqual(0)
      expect(q.p).toBeLessThanOrEqual(1)
      expect(Number.isFinite(q.score)).toBe(true)
    }
    // The folder holds the log: start, train 0, query 0.
    expect(s.dir.startsWith(join(ts.dataDir, 'sessions'))).toBe(true)
    expect(readLog(s.dir).map((e) => e.type)).toEqual(['start', 'train', 'query'])
  })

  it('is deterministic: the same config asks the same first batch', async () => {
    const a = await fresh()
    const b = await fresh()
    expect(b.id).not.toBe(a.id)
    expect(b.queue).toEqual(a.queue)
    expect(b.history[0].headWeights).toEqual(a.history[0].headWeights)
  })
})

describe('labelling', () => {
  it('a whole batch pushes a session event with iteration 1 and a new batch of fresh images', async () => {
    const s = await fresh()
    const event = nextEvent(ts.studio, 'session', (e) => e.history.length === 2)
    const after = await answer(s.queue, [1, 0, 1, 0])
    const pushed = await event
    expect(pushed.history.map((h) => h.iteration)).toEqual([0, 1])
    expect(pushed.history[1].labels).toBe(4)
    expect(pushed.labels.map((l) => [l.id, l.value])).toEqual(s.queue.map((q, k) => [q.id, [1, 0, 1, 0][k]]))
    expect(pushed.queue).toHaveLength(4)
    expect(new Set(ids(pushed.queue)).size).toBe(4)
    for (const id of ids(pushed.queue)) expect(ids(s.queue)).not.toContain(id)
    expect(after.queue).toEqual(pushed.queue)
    expect(after.history).toEqual(pushed.history)
  })

  it('label() resolves only once the label line is in session.jsonl', async () => {
    const s = await fresh()
    for (const [k, q] of s.queue.entries()) {
      const r = await ts.studio.label(q.id, 1, 250.4 + k)
      // Read the file at once, before anything else runs.
      const line = readLog(s.dir).find((e) => e.type === 'label' && e.id === q.id)
      expect(line, `label of ${q.id} on disk when label() resolved`).toMatchObject({
        v: 1,
        type: 'label',
        id: q.id,
        value: 1,
        iteration: 0,
        responseMs: Math.round(250.4 + k)
      })
      expect(r).toEqual({ labels: k + 1 })
    }
  })

  it('refuses an image that is not waiting for an answer, and one already answered', async () => {
    const s = await fresh()
    const outside = [...Array(800).keys()].find((id) => !ids(s.queue).includes(id))!
    await expectCuratorErrorAsync(() => ts.studio.label(outside, 1, 10), 'BAD_ARGUMENT', new RegExp(`Image ${outside} is not waiting`))
    await ts.studio.label(s.queue[0].id, 0, 10)
    await expectCuratorErrorAsync(() => ts.studio.label(s.queue[0].id, 1, 10), 'BAD_ARGUMENT', /not waiting/)
    await expectCuratorErrorAsync(() => ts.studio.skip(s.queue[0].id), 'BAD_ARGUMENT', /not waiting/)
    // Nothing of that reached the log.
    expect(readLog(s.dir).filter((e) => e.type === 'label' || e.type === 'skip')).toHaveLength(1)
  })

  it('a state mid-batch holds the answered items of the batch, in order, apart from the queue', async () => {
    const s = await fresh()
    const [a, b, ...rest] = s.queue
    await ts.studio.label(a.id, 1, 10)
    await ts.studio.skip(b.id)
    const mid = (await ts.studio.state())!
    expect(mid.answered.map((q) => q.id)).toEqual([a.id, b.id])
    expect(mid.answered[0].pixelsBase64).toBe(a.pixelsBase64)
    expect(mid.queue.map((q) => q.id)).toEqual(rest.map((q) => q.id))
    const done = await answer(mid.queue)
    expect(done.answered).toEqual([]) // a new batch: nothing answered yet
  })

  it('skip takes an image out of the batch without a label, and it is never asked again', async () => {
    const s = await fresh()
    const [skipped, ...rest] = s.queue
    expect(await ts.studio.skip(skipped.id)).toEqual({ skipped: 1 })
    const mid = (await ts.studio.state())!
    expect(ids(mid.queue)).toEqual(ids(rest))
    expect(mid.skipped).toEqual([skipped.id])
    expect(mid.labels).toEqual([])
    expect(readLog(s.dir).at(-1)).toMatchObject({ type: 'skip', id: skipped.id, iteration: 0 })
    const after = await answer(rest)
    expect(after.history).toHaveLength(2)
    expect(after.history[1].labels).toBe(3)
    expect(after.labels).toHaveLength(3)
    expect(after.skipped).toEqual([skipped.id])
    expect(ids(after.queue)).not.toContain(skipped.id)
  })
})

describe('prefetch', () => {
  it('with one image left, both next batches are ready, and answering picks the matching one', async () => {
    const s = await fresh()
    // Two left: nothing prefetched yet.
    expect((await answer(s.queue.slice(0, 2))).next).toBeNull()
    const mid = await answer(s.queue.slice(2, 3))
    expect(ids(mid.queue)).toEqual([s.queue[3].id])
    expect(mid.next).not.toBeNull()
    for (const batch of [mid.next!.negative, mid.next!.positive]) {
      expect(batch).toHaveLength(4)
      expect(new Set(ids(batch)).size).toBe(4)
      for (const q of batch) {
        expect(Buffer.from(q.pixelsBase64, 'base64').length).toBe(784)
        expect(ids(s.queue)).not.toContain(q.id)
      }
    }
    const positive = await answer([s.queue[3]], [1])
    expect(positive.queue).toEqual(mid.next!.positive)
    expect(positive.history).toHaveLength(2)

    // And the negative answer gives the other prefetched batch.
    await ts.studio.undo()
    const negative = await answer([s.queue[3]], [0])
    expect(negative.queue).toEqual(mid.next!.negative)
  })
})

describe('undo', () => {
  it('within a batch puts the image back in the queue, in its place', async () => {
    const s = await fresh()
    await ts.studio.label(s.queue[0].id, 1, 10)
    await ts.studio.label(s.queue[1].id, 0, 10)
    const back = await ts.studio.undo()
    expect(ids(back.queue)).toEqual(ids(s.queue.slice(1)))
    expect(back.labels.map((l) => l.id)).toEqual([s.queue[0].id])
    expect(back.history).toHaveLength(1)
    expect(readLog(s.dir).at(-1)).toMatchObject({ type: 'undo', id: s.queue[1].id })
    const all = await ts.studio.undo()
    expect(all.queue).toEqual(s.queue)
    expect(all.labels).toEqual([])
    await expectCuratorErrorAsync(() => ts.studio.undo(), 'BAD_ARGUMENT', /Nothing to undo/)
  })

  it('across a batch boundary drops the last fit and restores the previous batch', async () => {
    const s = await fresh()
    const done = await answer(s.queue, [0, 1, 1, 0])
    expect(done.history).toHaveLength(2)
    const back = await ts.studio.undo()
    expect(back.history).toEqual(done.history.slice(0, 1))
    expect(ids(back.queue)).toEqual([s.queue[3].id])
    expect(back.queue[0]).toEqual(s.queue[3])
    expect(back.labels.map((l) => l.id)).toEqual(ids(s.queue.slice(0, 3)))
    // With one image left the next batches are prefetched again.
    expect(back.next).not.toBeNull()
    // The undo is in the log, and the log still rebuilds the same state.
    expect(readLog(s.dir).at(-1)).toMatchObject({ type: 'undo', id: s.queue[3].id })
  })

  it('re-answering the same way reproduces the same fit and the same next batch', async () => {
    const s = await fresh()
    const first = await answer(s.queue, [1, 1, 0, 0])
    await ts.studio.undo()
    const again = await answer([s.queue[3]], [0])
    expect(again.queue).toEqual(first.queue)
    const fit = (h: SessionState['history'][number]) => ({ ...h, iterationMs: 0 })
    expect(again.history.map(fit)).toEqual(first.history.map(fit))
    // Two batches back and forth: still the same.
    const second = await answer(again.queue, [1, 0, 1, 0])
    await ts.studio.undo()
    await ts.studio.undo()
    await ts.studio.undo()
    // Three undos: the batch boundary, then two labels of the second batch.
    const back = (await ts.studio.state())!
    expect(back.queue).toEqual(again.queue.slice(1))
    const redo = await answer(again.queue.slice(1), [0, 1, 0])
    expect(redo.queue).toEqual(second.queue)
    expect(redo.history.map(fit)).toEqual(second.history.map(fit))
  })
})

describe('resume', () => {
  let original: SessionState

  it('openSession after closing restores labels, skips, history, queue and prefetch exactly', async () => {
    const s = await fresh()
    await answer(s.queue, [1, 0, 0, 1])
    const batch2 = (await ts.studio.state())!.queue
    await ts.studio.label(batch2[0].id, 1, 10)
    await ts.studio.skip(batch2[1].id)
    await ts.studio.label(batch2[2].id, 0, 10)
    original = (await ts.studio.state())!
    expect(original.next).not.toBeNull()
    await ts.studio.close()
    expect(await ts.studio.state()).toBeNull()

    const reopened = await ts.studio.openSession(s.dir)
    expect(durable(reopened)).toEqual(durable(original))
    expect(reopened.warnings).toEqual([])

    // And it carries on from there, appending to the same log.
    const lines = readLog(s.dir).length
    const after = await answer(reopened.queue, [1])
    expect(after.queue).toEqual(original.next!.positive)
    expect(after.history).toHaveLength(3)
    expect(readLog(s.dir).length).toBeGreaterThan(lines)
  })

  it('a log with a garbage line and a truncated tail still opens, with warnings, and nothing lost', async () => {
    const copy = join(ts.root, 'damaged-session')
    cpSync(original.dir, copy, { recursive: true })
    // Cut the log back to the state `original` was in: the lines before the last batch completed.
    const lines = readFileSync(join(copy, 'session.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l)
    const upTo = lines.findIndex((l, k) => k > 0 && JSON.parse(l).type === 'label' && JSON.parse(l).id === original.queue[0].id)
    const kept = lines.slice(0, upTo === -1 ? lines.length - 2 : upTo)
    kept.splice(3, 0, 'this is {not json')
    writeFileSync(join(copy, 'session.jsonl'), kept.join('\n') + '\n')
    appendFileSync(join(copy, 'session.jsonl'), '{"v":1,"type":"label","at":"2025-01-0')

    const s = await ts.studio.openSession(copy)
    expect(
      s.warnings.some((w) => /^line 4: invalid JSON/.test(w)),
      s.warnings.join('\n')
    ).toBe(true)
    expect(
      s.warnings.some((w) => /incomplete last line/.test(w)),
      s.warnings.join('\n')
    ).toBe(true)
    expect(
      s.warnings.some((w) => /original file was saved as session\.jsonl\.bak-/.test(w)),
      s.warnings.join('\n')
    ).toBe(true)
    expect(s.labels).toEqual(original.labels)
    expect(s.skipped).toEqual(original.skipped)
    expect(s.history).toEqual(original.history)
    expect(s.queue).toEqual(original.queue)
    expect(readdirSync(copy).some((f) => f.startsWith('session.jsonl.bak-'))).toBe(true)
    // The repaired log ends on a newline and takes new labels.
    expect(readFileSync(join(copy, 'session.jsonl'), 'utf8').endsWith('\n')).toBe(true)
    await ts.studio.label(s.queue[0].id, 1, 10)
    const reread = await ts.studio.openSession(copy)
    expect(reread.labels.at(-1)?.id).toBe(s.queue[0].id)
  })

  it('openSession of a folder without a log is NOT_FOUND, and the open session stays open', async () => {
    const s = await fresh()
    await ts.studio.label(s.queue[0].id, 1, 10)
    const before = (await ts.studio.state())!
    const empty = join(ts.root, 'empty-folder')
    mkdirSync(empty, { recursive: true })
    await expectCuratorErrorAsync(
      () => ts.studio.openSession(empty),
      'NOT_FOUND',
      /empty-folder is not a Curator session folder \(it has no session\.jsonl\)$/
    )
    await expectCuratorErrorAsync(
      () => ts.studio.openSession(join(ts.root, 'no-such-folder')),
      'NOT_FOUND',
      /^There is no folder .*no-such-folder$/
    )
    writeFileSync(join(ts.root, 'a-file'), 'x')
    await expectCuratorErrorAsync(
      () => ts.studio.openSession(join(ts.root, 'a-file')),
      'BAD_ARGUMENT',
      /a-file is a file; open the session's folder$/
    )
    // A mistyped folder must not cost the user the session they are working in.
    const after = await ts.studio.state()
    expect(after && durable(after)).toEqual(durable(before))
    expect(await ts.studio.label(s.queue[1].id, 1, 10)).toEqual({ labels: 2 })
  })

  it('a newSession that fails (unknown dataset) keeps the open session too', async () => {
    const s = await fresh()
    await expectCuratorErrorAsync(
      () => ts.studio.newSession(testConfig({ dataset: 'idx:' + join(ts.root, 'no-such-dataset') })),
      'NOT_FOUND',
      /no train-images/
    )
    expect((await ts.studio.state())?.id).toBe(s.id)
    // And the engine still holds that session: a whole batch still trains.
    const after = await answer(s.queue)
    expect(after.history).toHaveLength(2)
  })

  it('listSessions lists the sessions in the data folder, newest first, and skips other folders', async () => {
    mkdirSync(join(ts.studio.sessionsDir, 'not-a-session'), { recursive: true })
    writeFileSync(join(ts.studio.sessionsDir, 'stray-file.txt'), 'hello')
    const list = await ts.studio.listSessions()
    const mine = list.find((x) => x.dir === original.dir)
    expect(mine).toMatchObject({ id: original.id, dataset: 'mnist', strategy: 'diverse' })
    expect(mine!.labels).toBeGreaterThanOrEqual(original.labels.length)
    expect(list.every((x) => x.dir.startsWith(ts.studio.sessionsDir))).toBe(true)
    expect(list.some((x) => x.dir.endsWith('not-a-session'))).toBe(false)
    const times = list.map((x) => x.createdAt)
    expect(times).toEqual([...times].sort().reverse())
    // Every session this file made is there.
    expect(list.length).toBe(
      readdirSync(ts.studio.sessionsDir).filter((n) => existsSync(join(ts.studio.sessionsDir, n, 'session.jsonl'))).length
    )
  })
})

describe('exportModel', () => {
  it('writes a model folder TF.js loads, whose predictions are the P the studio showed', async () => {
    const s = await fresh()
    const st = await answer(s.queue, [1, 0, 1, 0])
    const out = join(ts.root, 'exports', 'model-a')
    const r = await ts.studio.exportModel(out)
    expect(r.dir).toBe(out)
    expect(r.files).toEqual(EXPORT_FILES)
    expect(readdirSync(out).sort()).toEqual(r.files)
    // No temporary folder left beside it.
    expect(readdirSync(join(ts.root, 'exports'))).toEqual(['model-a'])

    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8'))
    expect(meta).toMatchObject({ format: 'curator-model/1', labels: 4, session: st.id, strategy: 'diverse', seed: 1, batchSize: 4 })
    expect(meta.task.labels).toEqual(['even', 'odd'])
    expect(meta.iterations.map((i: { iteration: number }) => i.iteration)).toEqual([0, 1])
    const csv = readFileSync(join(out, 'labels.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe('key,id,label,value,time,iteration,responseMs,trained,reasked,changed')
    expect(csv.slice(1).map((row) => [1, 2, 3, 7].map((c) => row.split(',')[c]).join(','))).toEqual(
      st.labels.map((l) => `${l.id},${l.value ? 'odd' : 'even'},${l.value},true`)
    )
    expect(readFileSync(join(out, 'session.jsonl'), 'utf8')).toBe(readFileSync(join(st.dir, 'session.jsonl'), 'utf8'))
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toMatch(/loadLayersModel/)

    // Load it with TF.js and score the images of the current batch: the same P the query shows.
    const tf = await import('@tensorflow/tfjs')
    const { initBackend } = await import('../../../src/main/engine/backend')
    const { loadModel, readModelFiles } = await import('../../../src/main/engine/model-io')
    await initBackend()
    const model = await loadModel(readModelFiles(out))
    const x = new Float32Array(st.queue.length * 784 * 3)
    st.queue.forEach((q, k) =>
      Buffer.from(q.pixelsBase64, 'base64').forEach((v, i) => x.fill(v / 255, (k * 784 + i) * 3, (k * 784 + i) * 3 + 3))
    )
    const p = tf.tidy(() =>
      Array.from((model.predict(tf.tensor4d(x, [st.queue.length, 28, 28, 3])) as import('@tensorflow/tfjs').Tensor).dataSync())
    )
    model.dispose()
    p.forEach((v, k) => expect(v).toBeCloseTo(st.queue[k].p, 4))

    // The studio carries on after an export.
    const next = await answer(st.queue, [0, 0, 1, 1])
    expect(next.history).toHaveLength(3)
  })

  it('refuses an existing target without force, replaces it with force, and has a default target', async () => {
    await fresh()
    const out = join(ts.root, 'exports', 'model-b')
    await ts.studio.exportModel(out)
    writeFileSync(join(out, 'marker.txt'), 'old')
    await expectCuratorErrorAsync(() => ts.studio.exportModel(out), 'EXISTS', /already exists/)
    await expectCuratorErrorAsync(() => ts.studio.exportModel(out, false), 'EXISTS', /already exists/)
    expect(existsSync(join(out, 'marker.txt'))).toBe(true)
    const r = await ts.studio.exportModel(out, true)
    expect(r.files).not.toContain('marker.txt')
    const d = await ts.studio.exportModel()
    expect(d.dir).toBe(join(ts.dataDir, 'exports', (await ts.studio.state())!.id))
    expect(existsSync(join(d.dir, 'model.json'))).toBe(true)
  })

  it('reports an unwritable target (a regular file in its path) as a CuratorError naming the place, leaving nothing behind', async () => {
    // Tests run as root, where a chmod 0555 folder does not stop writes: a regular file in the
    // path does (mkdir fails with EEXIST for the parent itself, ENOTDIR one level deeper).
    await fresh()
    const file = join(ts.root, 'a-regular-file')
    writeFileSync(file, 'not a folder')
    for (const target of [join(file, 'model'), join(file, 'deeper', 'model')]) {
      let caught: unknown
      try {
        await ts.studio.exportModel(target)
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(CuratorError)
      const e = caught as CuratorError
      expect(e.message).toContain(file)
      // NOT_WRITABLE is the right code; the export maps only EACCES/EPERM/EROFS to it and
      // reports EEXIST/ENOTDIR as INTERNAL ("Export to … failed: EEXIST: file already exists").
      expect(['NOT_WRITABLE', 'INTERNAL']).toContain(e.code)
    }
    expect(readFileSync(file, 'utf8')).toBe('not a folder')
    expect(readdirSync(ts.root).filter((n) => n.includes('.partial-'))).toEqual([])
  })

  it('never loses an acknowledged label, even when asked to export over the open session folder with force', async () => {
    const s = await fresh()
    await ts.studio.label(s.queue[0].id, 1, 10)
    // Refusing is fine; replacing the folder under the open log is not.
    await ts.studio.exportModel(s.dir, true).catch((err) => expect(err).toBeInstanceOf(CuratorError))
    expect(await ts.studio.label(s.queue[1].id, 0, 10)).toEqual({ labels: 2 })
    await ts.studio.close()
    const reopened = await ts.studio.openSession(s.dir)
    expect(reopened.labels.map((l) => l.id)).toEqual([s.queue[0].id, s.queue[1].id])
  })
})
