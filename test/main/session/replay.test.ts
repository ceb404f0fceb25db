// Simulated sessions, verified replay, what-if and the GIF on real sessions: a real base
// model (small), real MNIST features, real session folders, and the real CLI once.
import { execFile } from 'node:child_process'
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { initBackend } from '../../../src/main/engine/backend'
import { TRUST_RULES } from '../../../src/main/engine/learner'
import { frameScale, renderFrame, writeSessionGif } from '../../../src/main/export/gif'
import { main } from '../../../src/main/cli/index'
import type { SessionEvent, TrainEvent } from '../../../src/main/session/events'
import { readSessionLog } from '../../../src/main/session/log'
import { ACCURACY_TOLERANCE, verifyReplay, WEIGHT_TOLERANCE, WHAT_IF_NOTE, whatIf } from '../../../src/main/session/replay'
import { derive } from '../../../src/main/session/derive'
import { Studio } from '../../../src/main/studio/studio'
import { tempDir } from '../../helpers/tmp'
import { readGif } from '../export/gif-reader'
import { cachePath, inProcessEngine, makeBase, recordSimulated, replayConfig } from './recorded'

const ROOT = resolve(__dirname, '../../..')
const run = promisify(execFile)

let tmp: { dir: string; remove: () => void }
let cacheDir: string
let baseDir: string
/** A simulated session: diverse strategy, batch 4, 24 labels (7 fits). Never modified. */
let sim: string
let simId: string

const logLines = (dir: string) => readFileSync(join(dir, 'session.jsonl'), 'utf8').trimEnd().split('\n')
const events = (dir: string) => logLines(dir).map((l) => JSON.parse(l) as SessionEvent)
const copy = (from: string, name: string) => {
  const to = join(tmp.dir, name)
  cpSync(from, to, { recursive: true })
  return to
}
/** Rewrites the log of `dir`, editing the events `edit` returns true for. */
function tamper(dir: string, edit: (e: SessionEvent) => boolean): void {
  let edited = 0
  const lines = logLines(dir).map((l) => {
    const e = JSON.parse(l) as SessionEvent
    if (!edit(e)) return l
    edited++
    return JSON.stringify(e)
  })
  expect(edited).toBe(1)
  writeFileSync(join(dir, 'session.jsonl'), lines.join('\n') + '\n')
}
const trainOf =
  (k: number) =>
  (e: SessionEvent): e is TrainEvent =>
    e.type === 'train' && e.iteration === k

beforeAll(async () => {
  tmp = tempDir('curator-replay-')
  cacheDir = cachePath(tmp.dir)
  process.env.CURATOR_CACHE_DIR = cacheDir
  expect(await initBackend()).toBe('wasm')
  baseDir = await makeBase()
  sim = join(tmp.dir, 'sim')
  simId = (await recordSimulated(sim, replayConfig({ strategy: 'diverse', batchSize: 4 }), 24, cacheDir)).id
})

afterAll(() => tmp?.remove())

describe('a simulated session', () => {
  it('is recorded as the studio records one: start, train 0, query 0, then answers, train, query per batch', () => {
    const ev = events(sim)
    const kinds = ev.map((e) => (e.type === 'label' ? 'L' : e.type[0])).join('')
    // s = start, t = train, q = query, L = label
    expect(kinds).toBe('stq' + 'LLLLtq'.repeat(6))
    const start = ev[0] as Extract<SessionEvent, { type: 'start' }>
    expect(start.id).toBe(simId)
    expect(start.backend).toBe('wasm')
    expect(start.config).toMatchObject({ dataset: 'mnist', strategy: 'diverse', batchSize: 4, poolLimit: 1000, testLimit: 300 })
    expect(start.dataset).toMatchObject({ id: 'mnist', poolSize: 1000, testSize: 300 })
    // Labels answer the query before them, in its order, from ground truth, with responseMs 0.
    const d = derive(ev)
    expect(d.warnings).toEqual([])
    expect(d.trains.map((t) => [t.iteration, t.labels])).toEqual([0, 1, 2, 3, 4, 5, 6].map((k) => [k, 4 * k]))
    expect(d.done).toHaveLength(6)
    d.done.forEach((b, k) => {
      expect(b.answers.map((a) => a.id)).toEqual(b.query.ids)
      expect(b.answers.every((a) => a.iteration === k && a.responseMs === 0 && (a.value === 0 || a.value === 1))).toBe(true)
    })
    expect(d.current?.query.iteration).toBe(6)
    expect(d.current?.answers).toEqual([])
    // Ground truth exists, so every fit has a held-out accuracy (the tiny test base is weak: no bar on its value).
    for (const t of d.trains) expect(t.testAccuracy).toBeTypeOf('number')
  })

  it('opens in the studio where the simulation stopped, without writing anything', async () => {
    const before = readFileSync(join(sim, 'session.jsonl'))
    const studio = new Studio({ dataDir: join(tmp.dir, 'data'), engine: inProcessEngine(), version: 'test', cacheDir })
    try {
      const s = await studio.openSession(sim)
      expect(s.id).toBe(simId)
      expect(s.warnings).toEqual([])
      expect(s.history.map((h) => h.labels)).toEqual([0, 4, 8, 12, 16, 20, 24])
      expect(s.labels).toHaveLength(24)
      expect(s.queue.map((q) => q.id)).toEqual(derive(events(sim)).current!.query.ids)
    } finally {
      await studio.close()
    }
    expect(readFileSync(join(sim, 'session.jsonl')).equals(before)).toBe(true)
  })

  it('refuses a folder that already holds a session', async () => {
    await expect(recordSimulated(sim, replayConfig(), 4, cacheDir)).rejects.toThrow(/already exists/)
  })
})

describe('verified replay', () => {
  it('rebuilds every iteration of a simulated session exactly on the same backend', async () => {
    const r = await verifyReplay(sim, { cacheDir, baseDir })
    expect(r.mode).toBe('exact')
    expect(r.tolerance).toBeNull()
    expect([r.recordedBackend, r.backend]).toEqual(['wasm', 'wasm'])
    expect(r.warnings).toEqual([])
    expect(r.iterations.map((i) => [i.iteration, i.ok, i.queryCompared])).toEqual([0, 1, 2, 3, 4, 5, 6].map((k) => [k, true, true]))
    expect(r.iterations.every((i) => i.mismatches.length === 0)).toBe(true)
    expect(r.ok).toBe(true)
    expect(r.firstMismatch).toBeNull()
  })

  it('fails on a tampered head weight and names that iteration, field and both values', async () => {
    const dir = copy(sim, 'tampered-weight')
    let original = 0
    tamper(dir, (e) => {
      if (!trainOf(3)(e)) return false
      original = e.headWeights[3]
      e.headWeights[3] = original + 1e-6 // far inside the cross-backend tolerance: exact means exact
      return true
    })
    const r = await verifyReplay(dir, { cacheDir, baseDir })
    expect(r.ok).toBe(false)
    expect(r.firstMismatch).toEqual({ iteration: 3, field: 'headWeights[3]', recorded: original + 1e-6, recomputed: original })
    expect(r.iterations.map((i) => i.ok)).toEqual([true, true, true, false, true, true, true])
  })

  it('fails on a tampered accuracy, and on a tampered query', async () => {
    const acc = copy(sim, 'tampered-accuracy')
    tamper(acc, (e) => trainOf(5)(e) && ((e.testAccuracy = 0.5), true))
    expect((await verifyReplay(acc, { cacheDir, baseDir })).firstMismatch).toMatchObject({
      iteration: 5,
      field: 'testAccuracy',
      recorded: 0.5
    })
    // Swap two asked images of query 2: answers still match the query, the order does not.
    const q = copy(sim, 'tampered-query')
    tamper(q, (e) => e.type === 'query' && e.iteration === 2 && (([e.ids[0], e.ids[1]] = [e.ids[1], e.ids[0]]), true))
    const r = await verifyReplay(q, { cacheDir, baseDir })
    expect(r.firstMismatch).toMatchObject({ iteration: 2, field: 'query.ids' })
  })

  it('compares within the stated tolerance when the session was recorded on another backend', async () => {
    expect([WEIGHT_TOLERANCE, ACCURACY_TOLERANCE]).toEqual([1e-4, 1e-3])
    const small = copy(sim, 'other-backend-small')
    tamper(small, (e) => e.type === 'start' && ((e.backend = 'tensorflow'), true))
    const lines = logLines(small)
    // Move weight 3 of fit 3 by less than the tolerance: still OK.
    writeFileSync(
      join(small, 'session.jsonl'),
      lines
        .map((l) => {
          const e = JSON.parse(l) as SessionEvent
          if (!trainOf(3)(e)) return l
          e.headWeights[3] += WEIGHT_TOLERANCE / 2
          e.headBias -= WEIGHT_TOLERANCE / 2
          return JSON.stringify(e)
        })
        .join('\n') + '\n'
    )
    const ok = await verifyReplay(small, { cacheDir, baseDir })
    expect(ok.mode).toBe('tolerance')
    expect(ok.tolerance).toEqual({ weights: 1e-4, accuracy: 1e-3 })
    expect(ok.ok).toBe(true)
    expect(ok.iterations[3].mismatches).toEqual([])
    // Beyond it: a mismatch.
    const big = copy(small, 'other-backend-big')
    tamper(big, (e) => trainOf(4)(e) && ((e.headWeights[0] += 3 * WEIGHT_TOLERANCE), true))
    const bad = await verifyReplay(big, { cacheDir, baseDir })
    expect(bad.ok).toBe(false)
    expect(bad.firstMismatch).toMatchObject({ iteration: 4, field: 'headWeights[0]' })
  })

  it('rebuilds a studio session with undo (across and within a batch) and a skip', async () => {
    const studio = new Studio({ dataDir: join(tmp.dir, 'data'), engine: inProcessEngine(), version: 'test', cacheDir })
    let dir = ''
    try {
      let s = await studio.newSession(replayConfig({ strategy: 'uncertainty', batchSize: 3, seed: 7 }))
      dir = s.dir
      for (const q of s.queue) await studio.label(q.id, (q.id % 2) as 0 | 1, 400)
      s = (await studio.state())!
      expect(s.history).toHaveLength(2)
      // Undo across the batch boundary: the fit is taken back and the last image asked again.
      s = await studio.undo()
      expect(s.history).toHaveLength(1)
      expect(s.queue).toHaveLength(1)
      await studio.label(s.queue[0].id, (1 - (s.queue[0].id % 2)) as 0 | 1, 300)
      s = (await studio.state())!
      expect(s.history).toHaveLength(2)
      // Next batch: skip one, label one, take it back, answer it again, label the last.
      const [a, b, c] = s.queue
      await studio.skip(a.id)
      await studio.label(b.id, 1, 100)
      await studio.undo()
      await studio.label(b.id, 0, 100)
      await studio.label(c.id, 1, 100)
      s = (await studio.state())!
      expect(s.history).toHaveLength(3)
      for (const q of s.queue) await studio.label(q.id, 1, 100)
      s = (await studio.state())!
      expect(s.history).toHaveLength(4)
      expect(s.skipped).toEqual([a.id])
    } finally {
      await studio.close()
    }
    const kinds = events(dir).map((e) => e.type)
    expect(kinds.filter((k) => k === 'undo')).toHaveLength(2)
    expect(kinds.filter((k) => k === 'train')).toHaveLength(5) // one of them undone
    const r = await verifyReplay(dir, { cacheDir, baseDir })
    expect(r.iterations.map((i) => [i.iteration, i.ok])).toEqual([
      [0, true],
      [1, true],
      [2, true],
      [3, true]
    ])
    expect(r.ok).toBe(true)
  })

  it('rebuilds a studio session whose old answers were changed (mid-batch, between batches, one taken back by undo)', async () => {
    const studio = new Studio({ dataDir: join(tmp.dir, 'data'), engine: inProcessEngine(), version: 'test', cacheDir })
    let dir = ''
    let final: Awaited<ReturnType<Studio['state']>> = null
    try {
      let s = await studio.newSession(replayConfig({ strategy: 'uncertainty', batchSize: 3, seed: 5 }))
      dir = s.dir
      const first = s.queue.map((q) => q.id)
      for (const id of first) await studio.label(id, 1, 100)
      s = (await studio.state())!
      const fit1 = s.history[1]
      // Mid-batch: the standing fit is redone on the changed answer; the batch on screen stays.
      await studio.label(s.queue[0].id, 0, 100)
      const onScreen = s.queue.map((q) => q.id)
      s = await studio.relabel(first[0], 0)
      expect(s.labels.find((l) => l.id === first[0])).toMatchObject({ value: 0, relabelled: true })
      expect(s.history).toHaveLength(2)
      expect(s.history[1].headWeights).not.toEqual(fit1.headWeights)
      expect([...s.answered, ...s.queue].map((q) => q.id)).toEqual(onScreen)
      // The same answer again changes nothing and writes nothing.
      const before = events(dir).length
      await studio.relabel(first[0], 0)
      expect(events(dir)).toHaveLength(before)
      for (const q of s.queue) await studio.label(q.id, 1, 100)
      s = (await studio.state())!
      expect(s.history).toHaveLength(3)
      // Between batches: refitted and asked again; undo brings the old answer (and fit) back.
      const asked = s.queue.map((q) => q.id)
      s = await studio.relabel(first[1], 0)
      expect(s.history).toHaveLength(3)
      s = await studio.undo()
      expect(s.labels.find((l) => l.id === first[1])).toMatchObject({ value: 1 })
      expect(s.labels.find((l) => l.id === first[1])?.relabelled).toBeUndefined()
      expect(s.queue.map((q) => q.id)).toEqual(asked)
      s = await studio.relabel(first[2], 0)
      for (const q of s.queue) await studio.label(q.id, 0, 100)
      final = await studio.state()
      await expect(studio.relabel(999, 1)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
    } finally {
      await studio.close()
    }
    const ev = events(dir)
    expect(ev.filter((e) => e.type === 'relabel').map((e) => (e as { id: number; value: number }).value)).toEqual([0, 0, 0])
    expect(derive(ev).warnings).toEqual([])
    const r = await verifyReplay(dir, { cacheDir, baseDir })
    expect(r.iterations.map((i) => [i.iteration, i.ok])).toEqual([0, 1, 2, 3].map((k) => [k, true]))
    // Fit 1 was redone mid-batch, with no query after it; the others chose the batch that followed.
    expect(r.iterations.map((i) => i.queryCompared)).toEqual([true, false, true, true])
    expect(r.ok).toBe(true)
    // Resumed, the session stands where it was: the changed answers and the last fit.
    const again = new Studio({ dataDir: join(tmp.dir, 'data'), engine: inProcessEngine(), version: 'test', cacheDir })
    try {
      const s = await again.openSession(dir)
      expect(s.labels).toEqual(final!.labels)
      expect(s.history).toEqual(final!.history)
      expect(s.queue.map((q) => q.id)).toEqual(final!.queue.map((q) => q.id))
    } finally {
      await again.close()
    }
    expect(events(dir)).toHaveLength(ev.length)
    // What-if and the GIF follow the answers as they stand.
    const w = await whatIf(dir, { seed: 9 }, { cacheDir, baseDir })
    expect(w.iterations.at(-1)!.testAccuracy).toBe(final!.history.at(-1)!.testAccuracy)
    expect((await writeSessionGif(dir, join(dir, 'relabel.gif'))).frames).toBe(4)
  })

  it('rebuilds a noisy simulated session exactly: re-asks, the answers they replace, suspects and the stop advice', async () => {
    // On the shipped digit CNN, whose clear softmax outputs let the answers check each other.
    const shipped = join(ROOT, 'resources/models/mnist-cnn')
    const dir = join(tmp.dir, 'noisy')
    await recordSimulated(dir, replayConfig({ strategy: 'diverse', batchSize: 4, seed: 2 }), 40, cacheDir, 0.2, shipped)
    const ev = events(dir)
    const d = derive(ev)
    const reasked = ev.flatMap((e) => (e.type === 'query' ? (e.reask ?? []) : []))
    expect(reasked.length).toBeGreaterThan(0)
    const trains = d.trains
    expect(trains.at(-1)!.answers).toBe(40)
    expect(trains.at(-1)!.labels).toBe(40 - reasked.filter((id) => d.done.some((b) => b.query.reask?.includes(id))).length)
    expect(trains.every((t) => t.suspects !== undefined && t.advice !== undefined)).toBe(true)
    // Without its base (not the default one here, not in a data folder), verify names it instead of rebuilding on another.
    await expect(verifyReplay(dir, { cacheDir })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/recorded on the base model ".+".*--base DIR/)
    })
    const r = await verifyReplay(dir, { cacheDir, baseDir: shipped })
    expect(r.iterations.every((i) => i.mismatches.length === 0)).toBe(true)
    expect(r.ok).toBe(true)
    // A tampered suspect list is a mismatch on the same backend.
    const bad = copy(dir, 'noisy-tampered')
    tamper(bad, (e) => trainOf(5)(e) && ((e.suspects = [...(e.suspects ?? []), { id: 0, p: 0.5 }]), true))
    expect((await verifyReplay(bad, { cacheDir, baseDir: shipped })).firstMismatch).toMatchObject({ iteration: 5, field: 'suspects' })
  })

  it('rebuilds a session recorded before the head rules had versions (none in its start) on the first rules, exactly', async () => {
    expect(events(sim)[0]).toMatchObject({ type: 'start', trust: TRUST_RULES })
    const old = join(tmp.dir, 'rules-1')
    await recordSimulated(old, replayConfig({ strategy: 'uncertainty', batchSize: 4, seed: 3 }), 24, cacheDir, 0, undefined, 1)
    tamper(old, (e) => e.type === 'start' && (delete e.trust, true))
    const r = await verifyReplay(old, { cacheDir })
    expect(r.iterations.every((i) => i.mismatches.length === 0)).toBe(true)
    expect(r.ok).toBe(true)
    // On today's rules the same answers fit another head: the version decides.
    const relabelled = copy(old, 'rules-1-as-2')
    tamper(relabelled, (e) => e.type === 'start' && ((e.trust = TRUST_RULES), true))
    expect((await verifyReplay(relabelled, { cacheDir })).ok).toBe(false)
    // A newer version than this Curator knows is refused, by name.
    const newer = copy(old, 'rules-newer')
    tamper(newer, (e) => e.type === 'start' && ((e.trust = TRUST_RULES + 1), true))
    await expect(verifyReplay(newer, { cacheDir })).rejects.toThrow(`version ${TRUST_RULES + 1} of the head's rules`)
  })

  it('rebuilds a session reopened after a crash between a fit and its query (the fit is written twice)', async () => {
    const dir = copy(sim, 'crash-after-fit')
    writeFileSync(join(dir, 'session.jsonl'), logLines(dir).slice(0, -1).join('\n') + '\n') // the last query never reached the disk
    const studio = new Studio({ dataDir: join(tmp.dir, 'data'), engine: inProcessEngine(), version: 'test', cacheDir })
    try {
      await studio.openSession(dir) // refits iteration 6 and asks again
    } finally {
      await studio.close()
    }
    expect(events(dir).filter(trainOf(6))).toHaveLength(2)
    const r = await verifyReplay(dir, { cacheDir, baseDir })
    expect(r.iterations.map((i) => i.iteration)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(r.ok).toBe(true)
    // The GIF shows each iteration once.
    expect((await writeSessionGif(dir, join(dir, 'crash.gif'))).frames).toBe(7)
  })

  it('rebuilds sessions whose fits run on Adam exactly, on the trainer recorded: fit original (seed-window) and unfrozen layers', async () => {
    for (const [name, config, budget, trainer] of [
      ['seed-window', replayConfig({ strategy: 'seed-window', fit: 'original', batchSize: 4, seed: 2 }), 16, 'onnxruntime'],
      ['unfreeze-1', replayConfig({ strategy: 'uncertainty', fit: 'converge', unfreeze: 1, batchSize: 4, seed: 3 }), 8, 'onnxruntime'],
      ['unfreeze-3', replayConfig({ strategy: 'uncertainty', fit: 'converge', unfreeze: 3, batchSize: 4, seed: 3 }), 8, 'onnxruntime'],
      // Recorded on TF.js (as every session before ONNX Runtime trained the suffix): replayed on TF.js.
      ['unfreeze-1-tfjs', replayConfig({ strategy: 'uncertainty', fit: 'converge', unfreeze: 1, batchSize: 4, seed: 3 }), 8, 'tfjs']
    ] as const) {
      const dir = join(tmp.dir, name)
      process.env.CURATOR_TRAINER = trainer
      try {
        await recordSimulated(dir, config, budget, cacheDir)
      } finally {
        delete process.env.CURATOR_TRAINER
      }
      expect(derive(events(dir)).start.trainer, name).toBe(trainer)
      const r = await verifyReplay(dir, { cacheDir, baseDir })
      expect(r.mode, name).toBe('exact')
      expect(
        r.iterations.map((i) => i.ok),
        name
      ).toEqual(Array(budget / 4 + 1).fill(true))
      expect(r.ok, name).toBe(true)
    }
  })
})

describe('what-if', () => {
  it('replays the recorded answers in order under another strategy and seed, with accuracy per iteration', async () => {
    const r = await whatIf(sim, { strategy: 'random', seed: 5 }, { cacheDir, baseDir })
    expect(r.note).toBe(WHAT_IF_NOTE)
    expect(r.note).toContain('replays the recorded answers in order; it cannot ask new images')
    expect(r.recorded).toEqual({ strategy: 'diverse', seed: 1 })
    expect([r.strategy, r.seed]).toEqual(['random', 5])
    expect(r.iterations.map((i) => i.labels)).toEqual([0, 4, 8, 12, 16, 20, 24])
    const recorded = derive(events(sim))
    for (const it of r.iterations) {
      expect(it.testAccuracy).toBeGreaterThanOrEqual(0)
      // Same answers, exact head: the accuracy cannot depend on the strategy.
      expect(it.testAccuracy).toBe(recorded.trains[it.iteration].testAccuracy)
      expect(it.recordedTestAccuracy).toBe(recorded.trains[it.iteration].testAccuracy)
      expect(it.wouldAsk).toHaveLength(4)
      expect(it.wouldAskAnswered).toBeGreaterThanOrEqual(0)
      expect(it.wouldAskAnswered).toBeLessThanOrEqual(4)
    }
    // The other strategy would have asked other images than the recording did.
    expect(r.iterations[0].wouldAsk).not.toEqual(recorded.done[0].query.ids)
  })
})

describe('the animated GIF of a session', () => {
  it('has one frame per fit, 432x288, the first and the last held 5 s, pixels as drawn', async () => {
    const file = join(tmp.dir, 'gif', 'sim.gif')
    const r = await writeSessionGif(sim, file)
    expect(r).toEqual({ file, frames: 7 })
    const bytes = readFileSync(file)
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('GIF89a')
    const gif = readGif(bytes)
    const trains = derive(events(sim)).trains
    expect(gif.frames).toHaveLength(trains.length)
    expect(gif.frames.map((f) => f.delay)).toEqual([500, 100, 100, 100, 100, 100, 500])
    expect(gif.frames.every((f) => f.width === 432 && f.height === 288)).toBe(true)
    expect(readdirSync(join(tmp.dir, 'gif'))).toEqual(['sim.gif']) // no temporary file left
    // The last frame decodes to exactly what renderFrame draws for the last fit.
    const expected = renderFrame(trains[6], frameScale(trains, ['even', 'odd']))
    const pal = gif.globalPalette!
    const idx = gif.frames[6].indices
    let wrong = 0
    for (let p = 0; p < idx.length; p++) {
      const i = idx[p]
      if (pal[3 * i] !== expected[4 * p] || pal[3 * i + 1] !== expected[4 * p + 1] || pal[3 * i + 2] !== expected[4 * p + 2]) wrong++
    }
    expect(wrong).toBe(0)
  })

  it('is the studio export too: session.gif in the session folder by default', async () => {
    const dir = copy(sim, 'gif-export')
    const opts = { dataDir: join(tmp.dir, 'data'), engine: inProcessEngine(), version: 'test' }
    const studio = new Studio(opts)
    const r = await studio.exportGif(dir)
    expect(r).toEqual({ dir, files: ['session.gif'] })
    expect(readGif(readFileSync(join(dir, 'session.gif'))).frames).toHaveLength(7)
    const other = join(tmp.dir, 'elsewhere', 'out.gif')
    expect(await studio.exportGif(dir, other)).toEqual({ dir: join(tmp.dir, 'elsewhere'), files: ['out.gif'] })
  })
})

describe('the replay command', () => {
  const env = () => ({ ...process.env, CURATOR_BASE_MODEL: baseDir, CURATOR_CACHE_DIR: cacheDir })
  const cli = async (...args: string[]) => {
    try {
      const r = await run(process.execPath, ['--import', 'tsx', 'src/main/cli/index.ts', ...args], {
        cwd: ROOT,
        env: env(),
        maxBuffer: 16 << 20
      })
      return { code: 0, stdout: r.stdout, stderr: r.stderr }
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string }
      return { code: e.code, stdout: e.stdout, stderr: e.stderr }
    }
  }

  it('records with `simulate --session` and verifies with `replay --verify`, as real processes', async () => {
    const dir = join(tmp.dir, 'cli-sim')
    const rec = await cli(
      'simulate',
      '--strategy',
      'uncertainty',
      '--seed',
      '3',
      '--batch',
      '4',
      '--budget',
      '12',
      '--pool-limit',
      '1000',
      '--test-limit',
      '300',
      '--session',
      dir
    )
    expect(rec.code, rec.stderr).toBe(0)
    expect(rec.stderr).toMatch(/Recorded session \S+ in /)
    expect(derive((await readSessionLog(dir)).events).trains).toHaveLength(4)

    const ok = await cli('replay', dir, '--verify')
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/every number must match exactly/)
    expect(ok.stdout.match(/^iteration +\d+ +labels +\d+ +OK$/gm)).toHaveLength(4)
    expect(ok.stdout).toContain('Verified: all 4 iterations match exactly.')

    const bad = copy(dir, 'cli-sim-tampered')
    tamper(bad, (e) => trainOf(2)(e) && ((e.headWeights[3] *= 1.5), true))
    const fail = await cli('replay', bad, '--verify')
    expect(fail.code).not.toBe(0)
    expect(fail.stdout).toMatch(/^iteration +2 +labels +8 +MISMATCH +headWeights\[3\]: recorded/m)
    expect(fail.stderr).toMatch(
      /verification failed: iteration 2 is the first that differs \(headWeights\[3\]: recorded [-\d.e]+, recomputed [-\d.e]+\)/
    )
  })

  it('prints the table, writes the GIF and runs what-if from the command line', async () => {
    const dir = copy(sim, 'cli-table')
    const lines: string[] = []
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (lines.push(String(s)), true))
    let table = ''
    try {
      expect(await main(['replay', dir])).toBe(0)
      table = lines.join('')
      expect(await main(['replay', dir, '--gif', join(dir, 'x.gif'), '--strategy', 'uncertainty', '--seed', '4'])).toBe(0)
      expect(await main(['replay', dir, '--json'])).toBe(0)
    } finally {
      spy.mockRestore()
    }
    const text = lines.join('')
    expect(table).toContain(`Session ${simId}: mnist, strategy diverse`)
    // One row per fit: iteration, labels, accuracies, bias, 10 weights, then the answers given to the next query.
    const rows = table.split('\n').filter((l) => /^ +\d+ +\d+ +0\.\d{4} /.test(l))
    expect(rows.map((l) => l.trim().split(/ +/).slice(0, 2).map(Number))).toEqual([0, 1, 2, 3, 4, 5, 6].map((k) => [k, 4 * k]))
    expect(rows[0]).toMatch(/( \d+[eo]){4}$/)
    expect(rows[6]).toMatch(/\.\d\d +$/) // the last query has no answers yet
    expect(text).toMatch(/Wrote .*x\.gif: 7 frames/)
    expect(text).toContain('What-if: strategy uncertainty, seed 4 (recorded: strategy diverse, seed 1')
    expect(text).toContain('replays the recorded answers in order; it cannot ask new images')
    expect(existsSync(join(dir, 'x.gif'))).toBe(true)
    const json = text.split('\n').filter((l) => l.startsWith('{"iteration"'))
    expect(json.map((l) => JSON.parse(l).labels)).toEqual([0, 4, 8, 12, 16, 20, 24])
  })

  it('rejects what it cannot do, with a clear message', async () => {
    const errors: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((s) => void errors.push(String(s)))
    try {
      const many = join(tmp.dir, 'never')
      expect(await main(['simulate', '--strategy', 'diverse,random', '--session', many])).toBe(2)
      expect(existsSync(many)).toBe(false)
      expect(await main(['simulate', '--seed', '1-2', '--session', many])).toBe(2)
      expect(await main(['replay'])).toBe(2)
      expect(await main(['replay', sim, '--strategy', 'smart'])).toBe(2)
      expect(await main(['replay', join(tmp.dir, 'no-such-session')])).toBe(2)
    } finally {
      spy.mockRestore()
    }
    expect(errors[0]).toMatch(/--session records one run: give a single --strategy and a single --seed/)
    expect(errors[2]).toMatch(/Which session\? Usage: curator replay SESSION/)
    expect(errors[3]).toBe('curator replay: --strategy must be one of diverse, uncertainty, random, seed-window, got "smart"')
    expect(errors[4]).toMatch(/^curator replay: There is no folder .*no-such-session$/)
  })
})
