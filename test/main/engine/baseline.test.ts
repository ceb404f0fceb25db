// The random baseline: seeded, computed from the ground truth on the cached features, and
// shown by the studio (pushed after fits), the replay and the GIF.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { initBackend } from '../../../src/main/engine/backend'
import { baselineOf, RandomBaseline } from '../../../src/main/engine/baseline'
import { disposePrepared, prepare, Prepared } from '../../../src/main/engine/setup'
import { frameScale, renderFrame } from '../../../src/main/export/gif'
import type { BaselinePoint } from '../../../src/shared/contract'
import { nextEvent, startTestStudio, testBaseModel, testConfig, TestStudio } from '../../helpers/studio'

const SHIPPED_BASE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../resources/models/mnist-cnn')
let p: Prepared
let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
  // The shipped base: the small test base's features barely separate the digits.
  p = await prepare(testConfig({ poolLimit: 1000, testLimit: 300 }), {
    backend: await initBackend(),
    cacheDir: ts.cacheDir,
    baseDir: SHIPPED_BASE
  })
}, 300_000)
afterAll(async () => {
  if (p) disposePrepared(p)
  await ts?.close()
})

describe('RandomBaseline', () => {
  it('is seeded, grows with labels, and with every label equals the learner fitted on all of them', async () => {
    const b = baselineOf(p, 1)!
    const points = b.at([40, 0, 8, 40, 200])
    expect(points.map((x) => x.labels)).toEqual([0, 8, 40, 200])
    expect(baselineOf(p, 1)!.at([8, 40])).toEqual(points.slice(1, 3))
    expect(baselineOf(p, 2)!.at([8])[0].testAccuracy).not.toBe(points[1].testAccuracy)
    // No labels: the zero head says 0.5 everywhere, counted as positive.
    const testTruth = p.testTruth!
    expect(points[0].testAccuracy).toBe(testTruth.filter((t) => t === 1).length / testTruth.length)
    expect(points[3].testAccuracy).toBeGreaterThan(points[1].testAccuracy)
    expect(points[3].testAccuracy).toBeGreaterThan(0.8)

    // Every labelled image in every order: the same set, so the learner's own fit must agree exactly.
    const all = Array.from(p.poolTruth!).flatMap((t, id) => (t >= 0 ? [{ id, value: t as 0 | 1 }] : []))
    await p.learner.fit([all])
    expect(b.at([all.length])[0].testAccuracy).toBe(p.learner.evaluate().testAccuracy)
  })

  it('is empty without ground truth', () => {
    expect(baselineOf({ ...p, poolTruth: null }, 1)).toBeNull()
    expect(
      new RandomBaseline({ pool: p.poolFeatures, test: p.testFeatures!, poolTruth: p.poolTruth!, testTruth: p.testTruth!, seed: 3 }).at([])
    ).toEqual([])
  })
})

describe('the studio, replay and GIF show it', () => {
  it('pushes baseline points for every fit after the next batch is shown, and replay carries them', async () => {
    let s = await ts.studio.newSession(testConfig())
    const first = await nextEvent(ts.studio, 'baseline', (e) => e.sessionId === s.id && e.points.some((x) => x.labels === 0))
    expect(first.points[0]).toMatchObject({ labels: 0 })
    const pushed: BaselinePoint[][] = []
    const off = ts.studio.on((e, payload) => e === 'baseline' && pushed.push((payload as { points: BaselinePoint[] }).points))
    for (let b = 0; b < 2; b++) {
      for (const q of s.queue) await ts.studio.label(q.id, 1, 30)
      s = (await ts.studio.state())!
    }
    await nextEvent(ts.studio, 'baseline', (e) => e.points.some((x) => x.labels === 8)).catch(() => null)
    off()
    s = (await ts.studio.state())!
    expect(s.baseline.map((x) => x.labels)).toEqual([0, 4, 8])
    expect(pushed.at(-1)).toEqual(s.baseline)
    // The studio's engine computes what this process computes from the same features and seed.
    const own = await prepare(testConfig(), { backend: await initBackend(), cacheDir: ts.cacheDir, baseDir: await testBaseModel() })
    try {
      expect(s.baseline).toEqual(baselineOf(own, 1)!.at([0, 4, 8]))
    } finally {
      disposePrepared(own)
    }

    const r = await ts.studio.replay(s.dir)
    expect(r.baseline).toEqual(s.baseline)
    // Another session replayed: its baseline comes from its own dataset and features.
    const other = await ts.studio.newSession(testConfig({ seed: 5 }))
    const r2 = await ts.studio.replay(s.dir)
    expect(r2.baseline).toEqual(s.baseline)
    expect(other.id).not.toBe(s.id)
    const g = await ts.studio.exportGif(s.dir, join(ts.root, 'b.gif'))
    expect(g.files).toEqual(['b.gif'])
  }, 300_000)

  it('the GIF frame title says what random picks reach', () => {
    const t = {
      labels: 8,
      testAccuracy: 0.9,
      headWeights: new Array(10).fill(0.1),
      histogram: { counts: new Array(11).fill(3), byTruth: null }
    }
    const scale = frameScale([t], ['even', 'odd'])
    const plain = renderFrame(t, scale)
    const withBaseline = renderFrame({ ...t, baseline: 0.7 }, scale)
    const rowsDiffering = new Set<number>()
    for (let i = 0; i < plain.length; i++) if (plain[i] !== withBaseline[i]) rowsDiffering.add(Math.floor(i / 4 / 432))
    expect(rowsDiffering.size).toBeGreaterThan(0)
    // Only the title line changes.
    expect(Math.min(...rowsDiffering)).toBeGreaterThanOrEqual(32)
    expect(Math.max(...rowsDiffering)).toBeLessThan(54)
  })
})
