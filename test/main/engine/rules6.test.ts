// Head rules 6 on the default session (the shipped digit CNN, MNIST's 60,000 pool images and
// 10,000 held out, diverse, batch 4) with a labeller who presses the wrong key 10 % of the time:
// an answer in doubt that the fit already goes against, in a region where the held-out split
// vouches for the fit, no longer holds up the stop advice. Only the advice changes: every batch
// asked is the same. Sessions recorded under rules 5 replay their old way.
import { describe, expect, it } from 'vitest'
import { TRUST_RULES } from '../../../src/main/engine/learner'
import { noisySessions } from '../../helpers/noisy-session'

const { run, replayFixture } = noisySessions('curator-rules6-')

describe('head rules 6', () => {
  it('is the rules new sessions run on', () => {
    expect(TRUST_RULES).toBe(6)
  })

  it('seed 9: the held-out split overrules the two wrong answers still open at 32 answers, and the advice comes then (36 under rules 5)', async () => {
    const [old, now] = [await run(9, 5, 40), await run(9, 6, 40)]
    expect(old.summary.stop!.answers).toBe(36)
    expect(now.summary.stop!.answers).toBe(32)
    // The same batches asked, the same fits and checks: only the advice differs.
    expect(now.records.map((r) => [r.next.ids, r.testAccuracy, r.suspects])).toEqual(
      old.records.map((r) => [r.next.ids, r.testAccuracy, r.suspects])
    )
    const first = now.records.find((r) => r.advice?.stop)!
    expect(first.answers).toBe(32)
    expect(old.records[first.iteration].advice!.stop).toBe(false)
    // Both answers still open are real slips, and the fit already gives the right answer for each.
    const open = first.suspects!.filter((s) => !s.settled)
    expect(open).toHaveLength(2)
    for (const s of open) {
      expect(s.value).not.toBe(now.truth[s.id])
      expect(s.p >= 0.5 ? 1 : 0).toBe(now.truth[s.id])
    }
    expect(first.advice!.reason).toMatch(/the held-out split overrules the 2 answers in doubt/)
    expect(first.testAccuracy!).toBeGreaterThanOrEqual(0.985)
    expect(now.summary.stopBelow97).toBe(0)
  }, 120_000)

  it('a session recorded under rules 5 (by the build before rules 6) replays exactly; read as rules 6 it is another session', async () => {
    // Recorded by `curator simulate --noise 0.1 --seed 9 --budget 40 --session DIR` at 8b59f59 (rules 5): the advice
    // waits for the two answers in doubt at 32 answers, first shown at 36.
    const { recorded: r, asNext: r6 } = await replayFixture('rules5-noisy', 5)
    expect(r.mode).toBe('exact')
    expect(r.iterations).toHaveLength(11)
    expect(r.firstMismatch).toBeNull()
    expect(r.ok).toBe(true)
    expect(r6.ok).toBe(false)
    expect(r6.firstMismatch).toMatchObject({ iteration: 8, field: 'advice' })
  }, 120_000)
})
