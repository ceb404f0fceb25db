// A session's TensorBoard files: written by the studio as the labeller goes, rebuilt from any
// log by `curator tensorboard`, decoded with TensorBoard's own protos and compared with the log.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { imagePixels } from '../../../src/main/data/dataset'
import { loadMnist } from '../../../src/main/data/mnist'
import type { SessionEvent, TrainEvent } from '../../../src/main/session/events'
import { derive } from '../../../src/main/session/derive'
import { rebuildTensorboard } from '../../../src/main/tensorboard/rebuild'
import { TAGS } from '../../../src/main/tensorboard/session'
import { pretrain } from '../../../src/main/engine/pretrain'
import { startTestStudio, testBaseModel, testConfig, TestStudio } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'
import { cliEnv, finished, startCli } from '../export/cli'
import { recordSimulated, replayConfig } from '../session/recorded'
import { byTag, decodeFile, DecodedEvent, eventFiles } from './decode'

let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
}, 300_000)
afterAll(async () => {
  await ts?.close()
})

const readLog = (dir: string): SessionEvent[] =>
  readFileSync(join(dir, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
const mnist = loadMnist({ pool: 1000, test: 10 })
const decodeDir = (dir: string): DecodedEvent[] => eventFiles(dir).flatMap(decodeFile)

/** Every logged value of the standing fits is in the files at its iteration. */
function expectMatchesLog(events: DecodedEvent[], trains: TrainEvent[]): void {
  const tags = byTag(events)
  for (const t of trains) {
    const at = (tag: string) => tags.get(tag)?.get(t.iteration)
    expect(at(TAGS.labels)?.simple_value, `labels @${t.iteration}`).toBe(t.labels)
    expect(at(TAGS.bias)?.simple_value).toBe(Math.fround(t.headBias))
    expect(at(TAGS.heldOut)?.simple_value).toBe(Math.fround(t.testAccuracy!))
    if (t.labelledAccuracy === null) expect(at(TAGS.labelled)).toBeUndefined()
    else expect(at(TAGS.labelled)?.simple_value).toBe(Math.fround(t.labelledAccuracy))
    const w = at(TAGS.weights)!.histo!
    expect([w.num, w.min, w.max]).toEqual([10, Math.min(...t.headWeights), Math.max(...t.headWeights)])
    expect(w.sum).toBeCloseTo(
      t.headWeights.reduce((a, b) => a + b, 0),
      12
    )
    expect(at(TAGS.p)!.histo!.bucket).toEqual(t.histogram.counts)
    expect(at(TAGS.pTrueNegative)!.histo!.bucket).toEqual(t.histogram.byTruth![0])
    expect(at(TAGS.pTruePositive)!.histo!.bucket).toEqual(t.histogram.byTruth![1])
  }
  expect(events[0].file_version).toBe('brain.Event:2')
}

/** The asked strip of step k holds the query's images side by side, 2 px apart. */
function expectAsked(events: DecodedEvent[], k: number, ids: number[]): Promise<void> {
  const img = byTag(events).get(TAGS.asked)!.get(k)!.image!
  expect([img.width, img.height, img.colorspace]).toEqual([ids.length * 28 + (ids.length - 1) * 2, 28, 1])
  return import('sharp').then(async ({ default: sharp }) => {
    const px = await sharp(img.encoded_image_string).toColorspace('b-w').raw().toBuffer()
    ids.forEach((id, n) => {
      const want = imagePixels(mnist.pool, id)
      for (let y = 0; y < 28; y++)
        expect(
          Buffer.compare(px.subarray(y * img.width + n * 30, y * img.width + n * 30 + 28), Buffer.from(want.subarray(y * 28, y * 28 + 28)))
        ).toBe(0)
    })
  })
}

describe('the studio writes TensorBoard files as the session goes', () => {
  it('one step per fit, equal to the log, asked images included; a refit after undo replaces its step; a rebuild agrees', async () => {
    let s = await ts.studio.newSession(testConfig())
    const tbDir = join(s.dir, 'tensorboard')
    for (let b = 0; b < 3; b++) {
      for (const q of s.queue) await ts.studio.label(q.id, mnist.pool.classes![q.id] % 2 === 1 ? 1 : 0, 50)
      s = (await ts.studio.state())!
    }
    // Undo across the batch boundary, answer the other way: fit 3 is made again.
    await ts.studio.undo()
    s = (await ts.studio.state())!
    await ts.studio.label(s.queue[0].id, 1, 50)
    s = (await ts.studio.state())!
    expect(s.history).toHaveLength(4)

    const log = readLog(s.dir)
    const d = derive(log as never)
    const live = decodeDir(tbDir)
    expect(eventFiles(tbDir)).toHaveLength(1)
    expectMatchesLog(live, d.trains)
    // Fit 3 was written twice (before and after the undo); the later one is the log's.
    expect(live.filter((e) => e.step === 3 && e.summary?.value.some((v) => v.tag === TAGS.labels))).toHaveLength(2)
    const losses = byTag(live).get(TAGS.loss)!
    expect(losses.has(0)).toBe(false)
    for (const k of [1, 2, 3]) expect(losses.get(k)!.simple_value).toBeGreaterThan(0)
    for (const k of [0, 1, 2]) await expectAsked(live, k, d.done[k].query.ids)
    await expectAsked(live, 3, d.current!.query.ids)

    // Rebuilt from the log into another folder: the same values, the loss refitted equal.
    const out = join(ts.root, 'tb-rebuilt')
    const r = await rebuildTensorboard(s.dir, out, { cacheDir: ts.cacheDir, baseDir: await testBaseModel() })
    // The test studio records as 'curator test': the only warning.
    expect(r).toMatchObject({ out, iterations: 4, images: 4, warnings: [expect.stringMatching(/recorded by curator test/)] })
    const rebuilt = decodeDir(out)
    expectMatchesLog(rebuilt, d.trains)
    expect([...byTag(rebuilt).get(TAGS.loss)!].map(([k, v]) => [k, v.simple_value])).toEqual(
      [...losses].map(([k, v]) => [k, v.simple_value])
    )
    for (const k of [0, 1, 2]) await expectAsked(rebuilt, k, d.done[k].query.ids)
    // Wall times come from the log, so a rebuild of the same log is the same file. It replaces
    // the event files Curator wrote there before, and only those.
    writeFileSync(join(out, 'events.out.tfevents.1.host.1.curator'), 'an earlier live file')
    writeFileSync(join(out, 'notes.txt'), 'mine')
    const again = await rebuildTensorboard(s.dir, out, { cacheDir: ts.cacheDir, baseDir: await testBaseModel() })
    expect(readdirSync(out).sort()).toEqual([again.file.slice(out.length + 1), 'notes.txt'])
    expect(readFileSync(again.file).equals(readFileSync(r.file))).toBe(true)
  }, 300_000)
})

describe('curator tensorboard SESSION', () => {
  it('rebuilds a session recorded without TensorBoard files; bad input is one line and exit 2', async () => {
    const base = await testBaseModel()
    const tmp = tempDir('curator-tb-cli-')
    try {
      const dir = join(tmp.dir, 'sim')
      await recordSimulated(dir, replayConfig(), 12, ts.cacheDir)
      expect(existsSync(join(dir, 'tensorboard'))).toBe(false)
      const env = cliEnv(base, ts.cacheDir)
      const run = await finished(startCli(['tensorboard', dir, '--json'], env))
      expect(run.stderr).not.toMatch(/warning/)
      expect(run.code).toBe(0)
      const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!)
      expect(r).toMatchObject({ out: join(dir, 'tensorboard'), iterations: 4, images: 4 })
      const d = derive(readLog(dir) as never)
      const events = decodeDir(join(dir, 'tensorboard'))
      expectMatchesLog(events, d.trains)
      expect(byTag(events).get(TAGS.loss)!.size).toBe(3)

      for (const [args, message] of [
        [['tensorboard'], /Which session\?/],
        [['tensorboard', join(tmp.dir, 'nowhere')], /nowhere/],
        [['tensorboard', dir, dir], /one session folder/]
      ] as const) {
        const bad = await finished(startCli([...args], env))
        expect(bad.code, args.join(' ')).toBe(2)
        expect(
          bad.stderr
            .trim()
            .split('\n')
            .filter((l) => !l.startsWith('TF.js backend'))
        ).toEqual([expect.stringMatching(message)])
      }
    } finally {
      tmp.remove()
    }
  }, 300_000)
})

describe('pretraining writes TensorBoard files', () => {
  it('loss and accuracy every N batches and per epoch, and the test accuracy', async () => {
    const tmp = tempDir('curator-tb-pretrain-')
    try {
      const ds = loadMnist({ pool: 300, test: 100 })
      const r = await pretrain(ds.pool, ds.test!, { epochs: 2, seed: 3, tensorboard: { dir: tmp.dir, every: 2 } })
      r.model.dispose()
      const tags = byTag(decodeDir(tmp.dir))
      // 300 images in batches of 128: 3 batches an epoch, 6 in all; every 2nd is written.
      expect([...tags.get('batch/loss')!.keys()]).toEqual([2, 4, 6])
      expect([...tags.get('batch/accuracy')!.keys()]).toEqual([2, 4, 6])
      expect([...tags.get('epoch/loss')!.keys()]).toEqual([1, 2])
      for (const v of tags.get('epoch/accuracy')!.values()) expect(v.simple_value).toBeGreaterThanOrEqual(0)
      expect(tags.get('epoch/loss')!.get(2)!.simple_value).toBeLessThan(tags.get('epoch/loss')!.get(1)!.simple_value!)
      expect(tags.get('test/accuracy')!.get(2)!.simple_value).toBe(Math.fround(r.testAccuracy))
    } finally {
      tmp.remove()
    }
  }, 300_000)
})
