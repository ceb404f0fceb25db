// The exported model folder, end to end: a simulated MNIST session (1,000 held-out images) is
// exported from a real studio; a fresh process that knows only plain @tensorflow/tfjs loads the
// folder and must reproduce the studio's P and the session's held-out accuracy. Also: the CLI
// (`curator export`, `curator predict`) and its errors, a real full disk, and exports killed
// with SIGKILL at seeded moments.
import { Rng } from '../../../src/main/util/rng'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import * as tf from '@tensorflow/tfjs'
import { DEFAULT_CONFIG, ExportResult, SessionConfig } from '../../../src/shared/contract'
import { initBackend } from '../../../src/main/engine/backend'
import { startEngine, EngineClient } from '../../../src/main/engine/client'
import { coldStartBatches, iterate } from '../../../src/main/engine/loop'
import { loadModel, readModelFiles } from '../../../src/main/engine/model-io'
import { disposePrepared, prepare } from '../../../src/main/engine/setup'
import { readSessionLog } from '../../../src/main/session/log'
import { recordSimulation } from '../../../src/main/session/record'
import { derive, engineBatches, skippedIds } from '../../../src/main/session/derive'
import { Studio } from '../../../src/main/studio/studio'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { testBaseModel } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'
import { canMountTmpfs, cliEnv, EXPORT_FILES, exportProblems, finished, PlainResult, runCli, runPlain, startCli, T10K_IMAGES } from './cli'

const POOL = 1000
const TEST = 1000
const BUDGET = 40
const KILLS = 16

let tmp: { dir: string; remove: () => void }
let env: NodeJS.ProcessEnv
let sessionDir: string
let sessionLog: string
let out: string
let engine: EngineClient
let studio: Studio
let exported: ExportResult
let studioP: Float32Array
let recomputedAccuracy: number | null
let recordedAccuracy: number
let plain: PlainResult

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

const t10k = () => {
  const b = readFileSync(T10K_IMAGES)
  return (i: number) => b.subarray(16 + i * 784, 16 + (i + 1) * 784)
}

beforeAll(async () => {
  const base = await testBaseModel()
  process.env.CURATOR_BASE_MODEL = base
  tmp = tempDir('curator-export-')
  const cacheDir = join(tmp.dir, 'cache')
  env = cliEnv(base, cacheDir)
  sessionDir = join(tmp.dir, 'session')
  out = join(tmp.dir, 'exports', 'model')

  // A simulated session, recorded as `curator simulate --session` does.
  const config: SessionConfig = { ...DEFAULT_CONFIG, poolLimit: POOL, testLimit: TEST }
  const backend = await initBackend()
  const p = await prepare(config, { backend, cacheDir })
  try {
    await recordSimulation(sessionDir, p, config, { budget: BUDGET, backend })
  } finally {
    disposePrepared(p)
  }
  sessionLog = readFileSync(join(sessionDir, 'session.jsonl'), 'utf8')

  // The studio's P for the held-out images: the engine's learner refitted on the log's answers.
  const d = derive((await readSessionLog(sessionDir)).events)
  recordedAccuracy = d.trains.at(-1)!.testAccuracy!
  const q = await prepare(d.start.config, { backend, cacheDir })
  try {
    const c = d.start.config
    const r = await iterate(
      q.learner,
      { strategy: c.strategy, batchSize: c.batchSize, coldStartBatches: coldStartBatches(q.base.classNames.length, c.batchSize) },
      engineBatches(d),
      skippedIds(d)
    )
    studioP = Float32Array.from(q.learner.testP!)
    recomputedAccuracy = r.testAccuracy
  } finally {
    disposePrepared(q)
  }

  // Open it in a studio over a real engine thread and export, as Export model… does.
  engine = startEngine(() => {})
  studio = new Studio({ dataDir: join(tmp.dir, 'data'), engine, version: 'test', cacheDir })
  await studio.openSession(sessionDir)
  exported = await studio.exportModel(out)

  // A fresh process with plain TF.js only.
  plain = await runPlain(out, TEST)
}, 600_000)

afterAll(async () => {
  await studio?.close().catch(() => {})
  await engine?.terminate()
  tmp?.remove()
})

describe('the exported model folder', () => {
  it('loads in a fresh plain-TF.js process that predicts the studio P within 1e-5 and the session held-out accuracy', () => {
    expect(exported.dir).toBe(out)
    expect(exported.files).toEqual(EXPORT_FILES)
    expect(exportProblems(out, sessionLog)).toEqual([])
    const meta = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8'))
    expect(meta.input.preprocessing).toMatchObject({ scale: expect.stringMatching(/^1\/255/), channels: 'grey repeated into RGB' })
    expect(meta.iterations.at(-1).testAccuracy).toBe(recordedAccuracy)
    expect(meta.labels).toBe(BUDGET)

    expect(plain.count).toBe(TEST)
    expect(studioP.length).toBe(TEST)
    const diff = maxAbsDiff(plain.p, studioP)
    console.log(
      `[export] fresh process (plain tfjs ${plain.tfVersion}, ${plain.backend} backend) vs studio P on ${TEST} held-out images: max |diff| ${diff.toExponential(3)}; ` +
        `parity accuracy of the reloaded model ${plain.parityAccuracy}, session's last recorded held-out accuracy ${recordedAccuracy}, recomputed ${recomputedAccuracy}`
    )
    expect(diff).toBeLessThanOrEqual(1e-5)
    expect(plain.parityAccuracy).toBe(recordedAccuracy)
    expect(recomputedAccuracy).toBe(recordedAccuracy)
  })
})

describe('curator predict', () => {
  it('scores grey and RGB PNG files and idx: images as the fresh process does', async () => {
    const img = t10k()
    const dir = join(tmp.dir, 'images')
    mkdirSync(dir)
    const grey = [0, 1, 2].map((i) => join(dir, `digit-${i}.png`))
    for (const [k, f] of grey.entries())
      await sharp(Buffer.from(img(k)), { raw: { width: 28, height: 28, channels: 1 } })
        .toColorspace('b-w')
        .png()
        .toFile(f)
    for (const f of grey) expect((await sharp(f).metadata()).channels).toBe(1) // truly grey files
    const rgb = join(dir, 'digit-3-rgb.png')
    const px = img(3)
    await sharp(Buffer.from(Uint8Array.from({ length: 784 * 3 }, (_, i) => px[Math.floor(i / 3)])), {
      raw: { width: 28, height: 28, channels: 3 }
    })
      .png()
      .toFile(rgb)
    expect((await sharp(rgb).metadata()).channels).toBe(3)

    const r = await runCli(['predict', '--model', out, '--json', ...grey, rgb, `idx:${T10K_IMAGES}:5`], env)
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { input: string; index?: number; p: number; label: string })
    expect(lines).toHaveLength(3 + 1 + 5)
    expect(lines.map((l) => l.input)).toEqual([...grey, rgb, ...Array(5).fill(T10K_IMAGES)])
    expect(lines.slice(4).map((l) => l.index)).toEqual([0, 1, 2, 3, 4])
    const expected = [0, 1, 2, 3, 0, 1, 2, 3, 4].map((i) => plain.p[i])
    const diff = maxAbsDiff(
      lines.map((l) => l.p),
      expected
    )
    console.log(`[predict] curator predict (PNG and idx:) vs the fresh process: max |diff| ${diff.toExponential(3)}`)
    expect(diff).toBeLessThanOrEqual(1e-5)
    for (const l of lines) expect(l.label).toBe(l.p >= 0.5 ? 'odd' : 'even')
  })

  it('prints one line per image (path, p, label) for JPEG files too, and refuses what it cannot read', async () => {
    const dir = join(tmp.dir, 'images-2')
    mkdirSync(dir)
    const jpg = join(dir, 'digit-4.jpg')
    await sharp(Buffer.from(t10k()(4)), { raw: { width: 28, height: 28, channels: 1 } })
      .toColorspace('b-w')
      .jpeg({ quality: 95 })
      .toFile(jpg)
    const r = await runCli(['predict', '--model', out, jpg, `idx:${T10K_IMAGES}:2`], env)
    expect(r.code, r.stderr).toBe(0)
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
    expect(rows.map((row) => row[0])).toEqual([jpg, `${T10K_IMAGES}[0]`, `${T10K_IMAGES}[1]`])
    for (const [, p, label] of rows) {
      expect(Number(p)).toBeGreaterThanOrEqual(0)
      expect(Number(p)).toBeLessThanOrEqual(1)
      expect(label).toBe(Number(p) >= 0.5 ? 'odd' : 'even')
    }
    expect(Number(rows[1][1])).toBeCloseTo(plain.p[0], 5)

    const tiny = join(dir, 'tiny.png')
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } })
      .png()
      .toFile(tiny)
    const small = await runCli(['predict', '--model', out, tiny], env)
    expect(small.code).toBe(2)
    expect(small.stderr).toMatch(/tiny\.png: too small: 10x10, the base network needs at least 20x20/)
    const notModel = await runCli(['predict', '--model', sessionDir, jpg], env)
    expect(notModel.code).toBe(2)
    expect(notModel.stderr).toMatch(/is not an exported Curator model: it has no metadata\.json/)
    const raw = await runCli(['predict', '--model', out, T10K_IMAGES], env)
    expect(raw.code).toBe(2)
    expect(raw.stderr).toMatch(/an IDX file\? write idx:/)
    const none = await runCli(['predict', '--model', out, `idx:${T10K_IMAGES}:0`], env)
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/No images in idx:/)
  })
})

describe('curator export', () => {
  it('exports, refuses a folder that is not empty without --force (exit 2), and --force replaces only what an earlier export wrote', async () => {
    const target = join(tmp.dir, 'cli', 'model')
    const first = await runCli(['export', '--session', sessionDir, '--out', target], env)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toContain(
      `Exported session ${derive((await readSessionLog(sessionDir)).events).start.id} (${BUDGET} labels, iteration ${BUDGET / 4}, held-out accuracy ${recordedAccuracy.toFixed(4)}) to ${target}`
    )
    for (const f of EXPORT_FILES) expect(first.stdout).toContain(`  ${f}\n`)
    expect(exportProblems(target, sessionLog)).toEqual([])
    // The same model the studio exported.
    expect(readFileSync(join(target, 'weights.bin')).equals(readFileSync(join(out, 'weights.bin')))).toBe(true)

    // The user's own files beside the export: a note, a folder of plots.
    writeFileSync(join(target, 'notes.txt'), 'mine')
    mkdirSync(join(target, 'plots'))
    writeFileSync(join(target, 'plots', 'a.png'), 'my plot')
    const notesInode = statSync(join(target, 'notes.txt')).ino
    const earlier = JSON.parse(readFileSync(join(target, 'metadata.json'), 'utf8')).exportedAt
    const again = await runCli(['export', '--session', sessionDir, '--out', target], env)
    expect(again.code, again.stderr + again.stdout).toBe(2)
    expect(again.stderr).toMatch(
      /^curator export: .*cli\/model already exists and is not empty; choose an empty or new folder, or use --force/
    )

    const forced = await runCli(['export', '--session', sessionDir, '--out', target, '--force', '--json'], env)
    expect(forced.code, forced.stderr).toBe(0)
    expect(JSON.parse(forced.stdout.trim()).export).toMatchObject({
      dir: target,
      files: EXPORT_FILES,
      labels: BUDGET,
      testAccuracy: recordedAccuracy
    })
    expect(exportProblems(target, sessionLog, ['notes.txt', 'plots'])).toEqual([])
    expect(JSON.parse(readFileSync(join(target, 'metadata.json'), 'utf8')).exportedAt).not.toBe(earlier)
    expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('mine')
    expect(statSync(join(target, 'notes.txt')).ino).toBe(notesInode) // the same file, not a copy
    expect(readFileSync(join(target, 'plots', 'a.png'), 'utf8')).toBe('my plot')
    expect(readdirSync(join(tmp.dir, 'cli'))).toEqual(['model'])

    // A folder of the user's named like one the new export writes is in the way, and stays.
    mkdirSync(join(target, 'images'))
    writeFileSync(join(target, 'images', 'own.txt'), 'mine too')
    const clash = await runCli(['export', '--session', sessionDir, '--out', target, '--force', '--with-images'], env)
    expect(clash.code).toBe(2)
    expect(clash.stderr).toMatch(
      /cli\/model\/images is in the way: it is not an earlier Curator model export and would be replaced; move it away first/
    )
    expect(readFileSync(join(target, 'images', 'own.txt'), 'utf8')).toBe('mine too')
    expect(exportProblems(target, sessionLog, ['images', 'notes.txt', 'plots'])).toEqual([])
    expect(readdirSync(join(tmp.dir, 'cli'))).toEqual(['model'])

    // --force replaces earlier exports only, never another folder.
    const other = join(tmp.dir, 'cli', 'not-an-export')
    mkdirSync(other)
    writeFileSync(join(other, 'keep.txt'), 'mine')
    const refused = await runCli(['export', '--session', sessionDir, '--out', other, '--force'], env)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/exists and is not an earlier Curator model export; refusing to replace it/)
    expect(readdirSync(other)).toEqual(['keep.txt'])
  })

  it('writes into an existing empty folder, as a folder picker returns it (CLI and the API)', async () => {
    const picked = join(tmp.dir, 'picked')
    const cliTarget = join(picked, 'cli')
    const apiTarget = join(picked, 'api')
    mkdirSync(cliTarget, { recursive: true })
    mkdirSync(apiTarget)
    chmodSync(cliTarget, 0o750)
    // What a file manager leaves in a folder it showed still counts as empty, and stays.
    writeFileSync(join(apiTarget, '.DS_Store'), 'finder')
    const r = await runCli(['export', '--session', sessionDir, '--out', cliTarget], env)
    expect(r.code, r.stderr).toBe(0)
    expect(exportProblems(cliTarget, sessionLog)).toEqual([])
    expect(statSync(cliTarget).mode & 0o777).toBe(0o750)
    const api = await studio.exportModel(apiTarget)
    expect(api).toEqual({ dir: apiTarget, files: EXPORT_FILES })
    expect(exportProblems(apiTarget, sessionLog, ['.DS_Store'])).toEqual([])
    expect(readFileSync(join(apiTarget, '.DS_Store'), 'utf8')).toBe('finder')
    expect(readdirSync(picked).sort()).toEqual(['api', 'cli'])
    // Without --force a second export into it is refused: it is not empty any more.
    await expectCuratorErrorAsync(() => studio.exportModel(apiTarget), 'EXISTS', /already exists and is not empty/)
  })

  it('reports a target under a regular file as NOT_WRITABLE (exit 2 and a clear message), leaving nothing behind', async () => {
    const file = join(tmp.dir, 'a-regular-file')
    writeFileSync(file, 'not a folder')
    for (const target of [join(file, 'model'), join(file, 'deeper', 'model')]) {
      const r = await runCli(['export', '--session', sessionDir, '--out', target], env)
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^curator export: Cannot write .*a-regular-file.*: part of that path is a file, not a folder/m)
      await expectCuratorErrorAsync(() => studio.exportModel(target), 'NOT_WRITABLE', /part of that path is a file, not a folder/)
    }
    expect(readFileSync(file, 'utf8')).toBe('not a folder')
    expect(readdirSync(tmp.dir).filter((n) => n.includes('.partial-'))).toEqual([])
  })

  it('needs a session: NO_SESSION (exit 2) without --session or for a folder without a log', async () => {
    const none = await runCli(['export', '--out', join(tmp.dir, 'x')], env)
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/Which session\? Usage: curator export --session DIR --out DIR/)
    const empty = join(tmp.dir, 'empty')
    mkdirSync(empty)
    const r = await runCli(['export', '--session', empty, '--out', join(tmp.dir, 'x')], env)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/empty holds no Curator session \(no session\.jsonl\)/)
    expect(existsSync(join(tmp.dir, 'x'))).toBe(false)
    const bare = new Studio({ dataDir: join(tmp.dir, 'data'), engine, version: 'test' })
    await expectCuratorErrorAsync(() => bare.exportModel(join(tmp.dir, 'x')), 'NO_SESSION', /Open a session before exporting/)
  })

  it.skipIf(!canMountTmpfs())('reports a full disk as DISK_FULL (exit 2), leaving nothing on the disk (a real 64 KiB tmpfs)', async () => {
    const small = join(tmp.dir, 'small-disk')
    mkdirSync(small)
    // The tmpfs exists only in the child's private mount namespace; list it before it goes.
    const script = 'mount -t tmpfs -o size=64k none "$0" || exit 99; "$@"; rc=$?; echo "LEFT:$(ls -A "$0" | tr "\\n" " ")"; exit $rc'
    const r = await runCli(['export', '--session', sessionDir, '--out', join(small, 'model')], env, [
      'unshare',
      '-m',
      'sh',
      '-c',
      script,
      small
    ])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(
      /^curator export: The disk is full: cannot write .*small-disk\/model\. Nothing was written; free some space and try again\./m
    )
    expect(r.stdout.trim()).toBe('LEFT:')
  })

  it(`killed with SIGKILL at ${KILLS} seeded moments, leaves the target absent or complete and only hidden temporary folders, which the next export removes`, async () => {
    await initBackend()
    const parent = join(tmp.dir, 'kills')
    const target = join(parent, 'model')
    mkdirSync(parent)
    const rng = new Rng(20261128)
    const rand = (n: number) => rng.int(n)
    const isPartial = (n: string) => n.startsWith('.model.partial-') && !n.endsWith('.old')
    const outcomes: { run: number; mode: string; force: boolean; killed: boolean; partialSeen: boolean; target: string; hidden: number }[] =
      []
    for (let k = 0; k < KILLS; k++) {
      // Odd runs replace an earlier export (--force: the rename-aside path), even runs write a new target.
      const force = k % 2 === 1
      if (force && !existsSync(target)) expect((await runCli(['export', '--session', sessionDir, '--out', target], env)).code).toBe(0)
      if (!force) rmSync(target, { recursive: true, force: true })
      const earlier = force ? JSON.parse(readFileSync(join(target, 'metadata.json'), 'utf8')).exportedAt : null
      const mode = (
        ['at the temporary folder', 'temporary folder + 0-30 ms', 'temporary folder + 30-150 ms', '0.5-2.5 s after start'] as const
      )[Math.floor(k / 2) % 4]
      const before = new Set(readdirSync(parent))
      const child = startCli(['export', '--session', sessionDir, '--out', target, ...(force ? ['--force'] : [])], env)
      const done = finished(child)
      const kill = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
      let partialSeen = false
      const onPartial = () => {
        if (partialSeen) return
        partialSeen = true
        if (mode === 'at the temporary folder') kill()
        else if (mode === 'temporary folder + 0-30 ms') setTimeout(kill, rand(30))
        else if (mode === 'temporary folder + 30-150 ms') setTimeout(kill, 30 + rand(120))
      }
      const fresh = (n: string | null) => !!n && isPartial(n) && !before.has(n)
      const watcher = watch(parent, (_e, name) => fresh(name) && onPartial())
      const poll = setInterval(() => readdirSync(parent).some(fresh) && onPartial(), 5)
      if (mode === '0.5-2.5 s after start') setTimeout(kill, 500 + rand(2000))
      const r = await done
      watcher.close()
      clearInterval(poll)

      const killed = r.signal === 'SIGKILL'
      if (!killed) expect(r.code, r.stderr).toBe(0)
      const others = readdirSync(parent).filter((n) => n !== 'model')
      // Whatever a kill leaves is hidden, beside the target, never at it.
      expect(others.filter((n) => !n.startsWith('.model.partial-'))).toEqual([])
      let state = 'absent'
      if (existsSync(target)) {
        expect(exportProblems(target, sessionLog), `run ${k}: ${target} is not complete`).toEqual([])
        const model = await loadModel(readModelFiles(target))
        const p = tf.tidy(() => (model.predict(tf.zeros([1, 28, 28, 3])) as tf.Tensor).dataSync()[0])
        model.dispose()
        expect(Number.isFinite(p)).toBe(true)
        state =
          JSON.parse(readFileSync(join(target, 'metadata.json'), 'utf8')).exportedAt === earlier
            ? 'complete (the earlier export)'
            : 'complete (new)'
      }
      outcomes.push({ run: k, mode, force, killed, partialSeen, target: state, hidden: others.length })
    }
    console.log(`[export] kills:\n${outcomes.map((o) => JSON.stringify(o)).join('\n')}`)
    // Some kills landed mid-export (they left a temporary folder behind).
    expect(outcomes.some((o) => o.killed && o.hidden > 0)).toBe(true)
    // The next export removes what the killed ones left, and succeeds.
    const last = await runCli(['export', '--session', sessionDir, '--out', target, '--force'], env)
    expect(last.code, last.stderr).toBe(0)
    expect(readdirSync(parent)).toEqual(['model'])
    expect(exportProblems(target, sessionLog)).toEqual([])
  }, 300_000)
})
