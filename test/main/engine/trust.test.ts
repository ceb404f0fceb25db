// The checks of the answers on small hand-made pools of softmax-like features: suspects from
// out-of-sample refits of the exact head, regions and their confirmation, the slip rate, and
// the stop advice.
import { describe, expect, it } from 'vitest'
import { fitLogistic, LeaveOneOut, leaveOneOutScores } from '../../../src/main/engine/head'
import { standing, type Answer } from '../../../src/main/engine/learner'
import {
  confirmations,
  covers,
  disputedRegions,
  doubtMatters,
  heldOutAgreement,
  outOfSample,
  overruled,
  reaskOutcomes,
  reasks,
  regionCounts,
  regionTrust,
  Regions,
  settledIds,
  slipRate,
  STEADY_BATCHES,
  STOP_TRUST,
  stopAdvice,
  suspectsOf,
  unconfirmed,
  vouchedRegions
} from '../../../src/main/engine/trust'
import { Rng } from '../../../src/main/util/rng'

/** n images of `classes` one-hot-ish classes (image i is class i % classes), 90 % clear, 10 % torn between two. */
function pool(n: number, classes: number, seed = 1) {
  const rng = new Rng(seed)
  const data = new Float32Array(n * classes)
  for (let i = 0; i < n; i++) {
    const c = i % classes
    const torn = i % 10 === 9
    let s = 0
    for (let j = 0; j < classes; j++)
      s += data[i * classes + j] = (j === c ? (torn ? 6 : 50) : j === (c + 1) % classes && torn ? 5 : 0) + rng.next()
    for (let j = 0; j < classes; j++) data[i * classes + j] /= s
  }
  return { count: n, dim: classes, data }
}

const fit = (p: ReturnType<typeof pool>) => (keep: Answer[]) =>
  fitLogistic(
    p.data,
    p.dim,
    keep.map((a) => a.id),
    keep.map((a) => a.value)
  )
const chanceOf = (p: number, a: Answer) => (a.value === 1 ? p : 1 - p)

describe('suspects', () => {
  const p = pool(400, 4)
  // Class c's truth: c odd. Three clear answers per class, then one wrong answer for class 1.
  const clear = (c: number, k: number) => c + 4 * k * 10
  const answers: Answer[] = [0, 1, 2, 3].flatMap((c) => [0, 1, 2].map((k) => ({ id: clear(c, k), value: (c % 2) as 0 | 1 })))
  const wrong = { id: clear(1, 3), value: 0 as const }

  it('out of sample, a wrong answer among agreeing ones gets a small chance; each refit leaves that answer out', () => {
    const all = [...answers, wrong]
    const oos = outOfSample(p, all, fit(p)(all), fit(p))
    all.forEach((a, k) => {
      const alone = fit(p)(all.filter((_, j) => j !== k))
      let z = alone.bias
      for (let j = 0; j < 4; j++) z += alone.weights[j] * p.data[a.id * 4 + j]
      expect(oos[k]).toBeCloseTo(1 / (1 + Math.exp(-z)), 6)
    })
    expect(chanceOf(oos.at(-1)!, wrong)).toBeLessThan(0.3)
    const flagged = suspectsOf(all, oos, new Set())
    expect(flagged.map((s) => s.id)).toEqual([wrong.id])
    expect(flagged[0]).toMatchObject({ value: 0 })
    // Settled (answered the same twice): still listed, marked; relabelled: never flagged.
    expect(suspectsOf(all, oos, new Set([wrong.id]))[0].settled).toBe(true)
    expect(suspectsOf([...answers, { ...wrong, relabelled: true }], oos, new Set())).toEqual([])
  })

  it('one Newton step per answer finds the answers to refit exactly: every suspect of the exact refits, and their very values', () => {
    const rng = new Rng(5)
    const many: Answer[] = Array.from({ length: 80 }, (_, k) => {
      const id = (k * 37) % 400
      const value = ((id % 4) % 2) as 0 | 1
      return { id, value: (rng.next() < 0.15 ? 1 - value : value) as 0 | 1 }
    })
    const uniq = many.filter((a, k) => many.findIndex((b) => b.id === a.id) === k)
    const full = fit(p)(uniq)
    const exact = outOfSample(p, uniq, full, fit(p))
    const approx = leaveOneOutScores(
      p.data,
      4,
      uniq.map((a) => a.id),
      uniq.map((a) => a.value),
      full
    )
    const fast = outOfSample(p, uniq, full, fit(p), approx)
    const flagged = (oos: Float64Array) => suspectsOf(uniq, oos, new Set()).map((x) => x.id)
    expect(flagged(exact).length).toBeGreaterThan(3)
    expect(flagged(fast)).toEqual(flagged(exact))
    uniq.forEach((a, k) => {
      if (chanceOf(exact[k], a) < 0.45) expect(fast[k]).toBe(exact[k])
      // The step itself is close: far from doubt it decides nothing.
      expect(Math.abs(1 / (1 + Math.exp(-approx[k])) - exact[k])).toBeLessThan(0.05)
    })
  })

  it('screened by converged leave-one-out refits: the same suspects with the very same P, the other answers close', () => {
    const rng = new Rng(7)
    const many: Answer[] = Array.from({ length: 120 }, (_, k) => {
      const id = (k * 53) % 400
      const value = ((id % 4) % 2) as 0 | 1
      return { id, value: (rng.next() < 0.15 ? 1 - value : value) as 0 | 1 }
    })
    const uniq = many.filter((a, k) => many.findIndex((b) => b.id === a.id) === k)
    const full = fit(p)(uniq)
    const loo = new LeaveOneOut(
      p.data,
      4,
      uniq.map((a) => a.id),
      uniq.map((a) => a.value),
      full
    )
    let screened = 0
    const screen = (ks: number[]) =>
      loo.refitScores(ks).map((z) => {
        if (z !== null) screened++
        return z === null ? null : 1 / (1 + Math.exp(-z))
      })
    const refits = outOfSample(p, uniq, full, fit(p), loo.scores)
    const fast = outOfSample(p, uniq, full, fit(p), loo.scores, screen)
    expect(screened).toBeGreaterThan(0)
    const flagged = suspectsOf(uniq, refits, new Set())
    expect(flagged.length).toBeGreaterThan(3)
    expect(suspectsOf(uniq, fast, new Set())).toEqual(flagged)
    uniq.forEach((_, k) => expect(Math.abs(fast[k] - refits[k])).toBeLessThan(1e-5))
  })

  it('a lone answer is never contradicted: without it its class is back at P 0.5', () => {
    const lone: Answer[] = [...answers.filter((a) => p.data[a.id * 4 + 3] < 0.5), { id: clear(3, 0), value: 0 }]
    const oos = outOfSample(p, lone, fit(p)(lone), fit(p))
    expect(oos.at(-1)!).toBeCloseTo(0.5, 1)
    expect(suspectsOf(lone, oos, new Set()).map((s) => s.id)).not.toContain(clear(3, 0))
  })

  it('settled answers: the same twice in a row, skipped when asked again, or asked three times', () => {
    const b: Answer[][] = [
      [
        { id: 1, value: 1 },
        { id: 2, value: 1 },
        { id: 3, value: 0 },
        { id: 4, value: 1 }
      ],
      [
        { id: 1, value: 1 },
        { id: 2, value: 0 },
        { id: 3, value: 1 }
      ],
      [{ id: 3, value: 0 }]
    ]
    expect([...settledIds(b, [4])].sort()).toEqual([1, 3, 4])
  })
})

describe('regions', () => {
  const p = pool(400, 4)
  const regions = new Regions(p, 4, 1)

  it('are the base classes where the features are its class outputs; typical images are the clear ones', () => {
    expect(regions.count).toBe(4)
    const argmax = (i: number) => [0, 1, 2, 3].reduce((b, j) => (p.data[i * 4 + j] > p.data[i * 4 + b] ? j : b), 0)
    for (let i = 0; i < 400; i++) expect(regions.of[i]).toBe(argmax(i))
    // Every torn image lies far from its region's centre: none is typical.
    for (let i = 9; i < 400; i += 10) expect(regions.typical[i]).toBe(0)
    expect(regions.typical.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.7 * 400)
  })

  it('are seeded k-means clusters otherwise', () => {
    const k = new Regions(p, 0, 3)
    expect(k.count).toBe(10)
    const clusters = new Set(Array.from(k.of))
    expect(clusters.size).toBeGreaterThan(3)
    expect(Array.from(new Regions(p, 0, 3).of)).toEqual(Array.from(k.of))
  })

  it('cover each unanswered region with a typical image, seeded; confirm the weakest ones; trust grows with the lead', () => {
    const excluded = new Uint8Array(400)
    const none = regionCounts(regions, [])
    const c1 = covers(regions, none, excluded, 4, 1, 0)
    const c2 = covers(regions, none, excluded, 4, 2, 0)
    expect(new Set(c1.map((id) => regions.of[id]))).toEqual(new Set([0, 1, 2, 3]))
    expect(c1.every((id) => regions.typical[id])).toBe(true)
    expect(c1.filter((id) => c2.includes(id)).length).toBeLessThanOrEqual(1)
    // One answer each, then a second agreeing one in region 0: regions 1-3 rest on one answer.
    const batches: Answer[][] = [c1.map((id) => ({ id, value: (regions.of[id] % 2) as 0 | 1 })), [{ id: 40, value: 0 }]]
    const counts = regionCounts(regions, batches)
    expect(counts.map((c) => c.positive + c.negative)).toEqual([2, 1, 1, 1])
    const slip = slipRate(batches, [])
    expect(slip).toBeCloseTo(1 / 45, 10)
    expect(counts.map((c) => unconfirmed(c, slip))).toEqual([false, true, true, true])
    for (const id of batches.flat().map((a) => a.id)) excluded[id] = 1
    const confirm = confirmations(regions, counts, slip, excluded, 2, 1, 1)
    expect(confirm).toHaveLength(2)
    expect(confirm.every((id) => regions.of[id] !== 0 && regions.typical[id] && !excluded[id])).toBe(true)
    expect(regionTrust({ region: 0, positive: 3, negative: 1, last: 0, touched: true }, 0.1)).toBeCloseTo(0.81 / 0.82, 6)
    // A tied region: its answers are not asked again; a new image breaks the tie.
    const r = regions.of[c1[1]]
    const other = Array.from(regions.of).findIndex((x, i) => x === r && regions.typical[i] && i !== c1[1])
    const tied = [[...batches[0], { id: other, value: (1 - (r % 2)) as 0 | 1 }]]
    expect(reasks([{ id: c1[1], value: (regions.of[c1[1]] % 2) as 0 | 1, p: 0.2 }], regions, tied, 4)).toEqual([])
  })

  it('confirmations go to the newest answers first; with longestWaiting the last slot to the one waiting longest', () => {
    const excluded = new Uint8Array(400)
    // One answer per region, in the order 0, 1, 2, 3 (region 0 answered first).
    const first = [0, 1, 2, 3].map((r) => regions.typicalIn[r][0])
    const batches: Answer[][] = first.map((id) => [{ id, value: (regions.of[id] % 2) as 0 | 1 }])
    for (const id of first) excluded[id] = 1
    const counts = regionCounts(regions, batches)
    const slip = slipRate(batches, [])
    const regionsOf = (ids: number[]) => ids.map((id) => regions.of[id])
    expect(regionsOf(confirmations(regions, counts, slip, excluded, 2, 1, 4))).toEqual([3, 2])
    expect(regionsOf(confirmations(regions, counts, slip, excluded, 2, 1, 4, [], true))).toEqual([3, 0])
    // With room for all of them, or for one, the same either way.
    expect(regionsOf(confirmations(regions, counts, slip, excluded, 4, 1, 4, [], true))).toEqual([3, 2, 1, 0])
    expect(regionsOf(confirmations(regions, counts, slip, excluded, 1, 1, 4, [], true))).toEqual([3])
  })

  it('the stop advice trusts a lead of 2 up to a slip rate of 6.6 %; asking goes on to a lead of 3', () => {
    const two = { region: 0, positive: 2, negative: 0, last: 1, touched: true }
    expect(unconfirmed(two, 0.06, STOP_TRUST)).toBe(false)
    expect(unconfirmed(two, 0.07, STOP_TRUST)).toBe(true)
    expect(unconfirmed(two, 0.06)).toBe(true)
    expect(unconfirmed({ ...two, positive: 3 }, 0.06)).toBe(false)
  })

  it('the held-out split vouches for a region with answers that lead one way where the head gets 99 % of its rows right', () => {
    const test = pool(400, 4, 3)
    const testRegions = regions.regionsOf(test)
    const truth = Int8Array.from(testRegions, (r) => r % 2)
    // Right everywhere but on one row of region 2 and on most of region 3.
    let missed = 0
    const p = Float32Array.from(testRegions, (r, i) => {
      const right = r === 3 ? i % 3 === 0 : !(r === 2 && missed++ === 0)
      return right === (truth[i] === 1) ? 0.9 : 0.1
    })
    const count = (region: number, positive: number, negative: number) => ({ region, positive, negative, last: 0, touched: true })
    const agreement = heldOutAgreement(regions, testRegions, p, truth)
    expect(Array.from(agreement.rows)).toEqual([100, 100, 100, 100])
    expect(Array.from(agreement.right)).toEqual([100, 100, 99, 34])
    // Region 1 has no lead (a tie), region 3 too many held-out errors; 0 and 2 are vouched for.
    expect([...vouchedRegions([count(0, 0, 1), count(1, 1, 1), count(2, 0, 2), count(3, 1, 0)], agreement)]).toEqual([0, 2])
    // And the advice says so.
    const a = stopAdvice({ changed: [0.001], heldOut: [0.99, 0.99], suspects: 0, unconfirmed: 0, vouched: 2, labels: 16 })
    expect(a.stop).toBe(true)
    expect(a.reason).toMatch(/; the held-out split vouches for 2 regions with few answers$/)
  })

  it('the held-out split disputes a region whose answers were all slips', () => {
    const test = pool(200, 4, 2)
    const testRegions = regions.regionsOf(test)
    const truth = Int8Array.from(testRegions, (r) => r % 2)
    // The head right everywhere but in region 3, which it calls negative.
    const p = Float32Array.from(testRegions, (r) => (r === 3 ? 0.1 : r % 2 ? 0.9 : 0.1))
    expect(disputedRegions(regions, heldOutAgreement(regions, testRegions, p, truth))).toBe(1)
    expect(
      disputedRegions(
        regions,
        heldOutAgreement(
          regions,
          testRegions,
          Float32Array.from(truth, (t) => (t ? 0.8 : 0.2)),
          truth
        )
      )
    ).toBe(0)
  })

  it('an image given the same answer twice counts twice in the fit; the latest answer stands', () => {
    const b: Answer[][] = [
      [
        { id: 1, value: 1 },
        { id: 2, value: 0 }
      ],
      [
        { id: 1, value: 1 },
        { id: 2, value: 1 }
      ]
    ]
    expect(standing(b)).toEqual([
      { id: 1, value: 1, times: 2 },
      { id: 2, value: 1 }
    ])
  })

  it('the slip rate counts images answered two ways and open suspects', () => {
    const b: Answer[][] = [
      [
        { id: 1, value: 1 },
        { id: 2, value: 0 }
      ],
      [{ id: 1, value: 0 }]
    ]
    expect(slipRate(b, [{ id: 2, value: 0, p: 0.9 }])).toBeCloseTo(3 / 43, 10)
  })
})

describe('stop advice', () => {
  const steady = { changed: [0.002], heldOut: [0.99, 0.991], suspects: 0, unconfirmed: 0, labels: 20 }

  it('says stop when nothing is in doubt, every region trusted and the last batch changed little', () => {
    expect(STEADY_BATCHES).toBe(1)
    const a = stopAdvice(steady)
    expect(a.stop).toBe(true)
    expect(a.reason).toMatch(/^You can stop: the last batch changed at most 0\.2 % of the pool’s predictions.*held-out 99\.1 %, steady/)
    expect(stopAdvice({ ...steady, changed: [0.001, 0.002] }).reason).toMatch(/^You can stop: the last 2 batches changed/)
  })

  it('and why not otherwise', () => {
    expect(stopAdvice({ ...steady, suspects: 2 })).toEqual({
      stop: false,
      reason: 'Keep going: 2 answers are in doubt (the others contradict it)'
    })
    expect(stopAdvice({ ...steady, unconfirmed: 1 }).reason).toBe('Keep going: 1 region of the pool rests on too few answers')
    expect(stopAdvice({ ...steady, disputed: 1 }).reason).toBe(
      'Keep going: the held-out split disagrees with the answers about 1 region of the pool'
    )
    expect(stopAdvice({ ...steady, changed: [0.04] }).reason).toBe('Keep going: the last answers changed 4.0 % of the pool’s predictions')
    expect(stopAdvice({ ...steady, heldOut: [0.97, 0.99] }).reason).toMatch(/^Keep going: held-out accuracy still rising \(\+2\.0 points\)/)
    expect(stopAdvice({ ...steady, changed: [] }).stop).toBe(false)
    expect(stopAdvice({ ...steady, labels: 0 }).stop).toBe(false)
  })
})

describe('answers in doubt that cannot change the predictions (head rules 5)', () => {
  it('asking again can leave an answer the other way (standing once) or the same (counting once more)', () => {
    const answers: Answer[] = [
      { id: 1, value: 1 },
      { id: 2, value: 0, times: 2 },
      { id: 3, value: 0 }
    ]
    const [other, same] = reaskOutcomes(answers, 3)
    expect(other).toEqual([answers[0], answers[1], { id: 3, value: 1 }])
    expect(same).toEqual([answers[0], answers[1], { id: 3, value: 0, times: 2 }])
    expect(reaskOutcomes(answers, 2)[1][1]).toEqual({ id: 2, value: 0, times: 3 })
  })

  it('matters where either outcome moves more than 0.5 % of the predictions or the held-out accuracy by more than 0.5 points', () => {
    const now = { predicted: new Uint8Array(1000), testAccuracy: 0.99 }
    const moved = (n: number, testAccuracy: number | null = 0.99) => ({
      predicted: Uint8Array.from({ length: 1000 }, (_, i) => (i < n ? 1 : 0)),
      testAccuracy
    })
    expect(doubtMatters(now, [moved(5), moved(0)])).toBe(false)
    expect(doubtMatters(now, [moved(0), moved(6)])).toBe(true)
    expect(doubtMatters(now, [moved(0, 0.984), moved(0)])).toBe(true)
    expect(doubtMatters(now, [moved(0, 0.986), moved(0, null)])).toBe(false)
  })

  it('the advice says an answer in doubt cannot change them', () => {
    const a = stopAdvice({ changed: [0.001], heldOut: [0.99, 0.99], suspects: 0, harmless: 1, unconfirmed: 0, labels: 32 })
    expect(a.stop).toBe(true)
    expect(a.reason).toMatch(
      /changed at most 0\.1 % of the pool’s predictions, the answer in doubt cannot change them \(asked again, answered either way\) and every region/
    )
    expect(stopAdvice({ changed: [0.001], heldOut: [0.99, 0.99], suspects: 0, harmless: 2, unconfirmed: 0, labels: 32 }).reason).toMatch(
      /the 2 answers in doubt cannot/
    )
  })
})

describe('answers in doubt the held-out split overrules (head rules 6)', () => {
  const p = pool(400, 4)
  const regions = new Regions(p, 4, 1)
  const test = pool(400, 4, 3)
  const testRegions = regions.regionsOf(test)
  const truth = Int8Array.from(testRegions, (r) => r % 2)
  // The head right on every held-out row but most of region 3's.
  const testP = Float32Array.from(testRegions, (r, i) => ((r === 3 ? i % 3 === 0 : true) === (truth[i] === 1) ? 0.9 : 0.1))
  const agreement = heldOutAgreement(regions, testRegions, testP, truth)
  // The fit calls every odd region's image positive.
  const pAt = (id: number) => (regions.of[id] % 2 ? 0.8 : 0.2)
  const clearIn = (r: number) => regions.typicalIn[r][0]

  it('where the fit gives the other answer and the held-out split vouches for the fit in its region', () => {
    const ruled = overruled(regions, agreement, pAt)
    // A slip the fit goes against, in a region the held-out split vouches for.
    expect(ruled({ id: clearIn(1), value: 0, p: 0.8 })).toBe(true)
    expect(ruled({ id: clearIn(0), value: 1, p: 0.2 })).toBe(true)
    // The fit follows the answer: it is not overruled.
    expect(ruled({ id: clearIn(1), value: 1, p: 0.2 })).toBe(false)
    // The held-out split does not vouch for the fit in region 3.
    expect(ruled({ id: clearIn(3), value: 0, p: 0.8 })).toBe(false)
    // Too few held-out rows with truth to read.
    const few = heldOutAgreement(
      regions,
      testRegions,
      testP,
      Int8Array.from(truth, (t, i) => (i < 40 ? t : -1))
    )
    expect(overruled(regions, few, pAt)({ id: clearIn(1), value: 0, p: 0.8 })).toBe(false)
  })

  it('the advice says the held-out split overrules them', () => {
    const base = { changed: [0.001], heldOut: [0.99, 0.99], suspects: 0, unconfirmed: 0, labels: 32 }
    const a = stopAdvice({ ...base, overruled: 2 })
    expect(a.stop).toBe(true)
    expect(a.reason).toMatch(
      /0\.1 % of the pool’s predictions, the held-out split overrules the 2 answers in doubt \(.*their regions agree\) and every region/
    )
    expect(stopAdvice({ ...base, overruled: 1 }).reason).toMatch(/overrules the answer in doubt \(.*its region agree\)/)
    expect(stopAdvice({ ...base, harmless: 1, overruled: 1 }).reason).toMatch(
      /the answer in doubt cannot change them \(asked again, answered either way\), the held-out split overrules the answer more/
    )
    // An answer in doubt that is neither still holds the advice up.
    expect(stopAdvice({ ...base, suspects: 1, overruled: 1 }).stop).toBe(false)
  })
})
