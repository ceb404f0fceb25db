// A simulated labeller: answers every query from ground truth, as a person would, and with
// `noise` presses the wrong key that often (an independent seeded draw for every answer).
import { CuratorError } from '../../shared/errors'
import { Rng } from '../util/rng'
import type { Answer } from './learner'
import { iterate, IterationRecord, LoopConfig, loopConfigOf } from './loop'
import type { Prepared } from './setup'

export interface SimulateOptions extends Omit<LoopConfig, 'coldStartBatches'> {
  /** Answers to give, re-asks included. */
  budget: number
  /** The chance that an answer is the wrong one (0: a perfect labeller). */
  noise?: number
  /** Called after each fit with the answers about to be given (in the order asked) and the images skipped. */
  onIteration?: (r: IterationRecord, answers: Answer[], skipped: number[]) => void | Promise<void>
}

export interface SimulateSummary {
  /** Images with a standing answer at the end. */
  labels: number
  /** Answers given, re-asks included. */
  answers: number
  /** Answers given that were wrong (noise), re-asks included. */
  wrongAnswers: number
  /** Standing answers that are wrong at the end. */
  wrongStanding: number
  iterations: number
  finalTestAccuracy: number | null
  /** Answers given (re-asks included) when held-out accuracy first reached 98.5 %, or null. */
  answersTo985: number | null
  /** Standing labels at that fit. */
  labelsTo985: number | null
  meanIterationMs: number
  /** Wrong answers followed by two fits, and how many of them either fit flagged. */
  wrongChecked: number
  wrongFlagged: number
  /** Right answers given, and how many of them were ever flagged while they stood. */
  rightGiven: number
  rightFlagged: number
  /** The first fit that advised stopping: answers given then and held-out accuracy; null if none did. */
  stop: { answers: number; labels: number; testAccuracy: number | null } | null
  /** Fits that advised stopping while held-out accuracy was below 97 %. */
  stopBelow97: number
  /** The largest fall of held-out accuracy from one fit to the next (points as a share). */
  maxDrop: number
}

/** The draws of a simulated labeller's mistakes: one stream per (seed, iteration), apart from the strategies' own. */
export const noiseRng = (seed: number, iteration: number) =>
  new Rng(Math.imul(seed + 0x5bd1e995, 0x27d4eb2f) ^ Math.imul(iteration + 1, 0x165667b1))

export async function simulate(p: Prepared, opts: SimulateOptions): Promise<SimulateSummary> {
  const truth = p.poolTruth
  if (!truth)
    throw new CuratorError('BAD_DATA', 'Simulating needs ground truth: this dataset has no classes, or the task maps none to positive')
  const cfg = loopConfigOf(opts, p.base)
  const noise = opts.noise ?? 0
  const batches: Answer[][] = []
  const skipped: number[] = []
  let answered = 0
  let wrong = 0
  let to985: { answers: number; labels: number } | null = null
  let total = 0
  // Every answer given: when (its batch), and whether it was right; the fits' flags by iteration.
  const given: { id: number; batch: number; right: boolean; flagged: Set<number> }[] = []
  const standingGiven = new Map<number, (typeof given)[number]>()
  let stop: SimulateSummary['stop'] = null
  let stopBelow97 = 0
  let maxDrop = 0
  let previousAccuracy: number | null = null
  let r = await iterate(p.learner, cfg, batches, skipped)
  for (;;) {
    total += r.iterationMs
    if (to985 === null && r.testAccuracy !== null && r.testAccuracy >= 0.985) to985 = { answers: r.answers, labels: r.labels }
    for (const s of r.suspects ?? []) standingGiven.get(s.id)?.flagged.add(r.iteration)
    if (r.advice?.stop) {
      stop ??= { answers: r.answers, labels: r.labels, testAccuracy: r.testAccuracy }
      if (r.testAccuracy !== null && r.testAccuracy < 0.97) stopBelow97++
    }
    if (previousAccuracy !== null && r.testAccuracy !== null) maxDrop = Math.max(maxDrop, previousAccuracy - r.testAccuracy)
    previousAccuracy = r.testAccuracy
    const answers: Answer[] = []
    const skips: number[] = []
    if (answered < opts.budget) {
      const rng = noiseRng(p.learner.opts.seed, r.iteration)
      for (const id of r.next.ids.slice(0, opts.budget - answered)) {
        if (truth[id] < 0) {
          skips.push(id)
          continue
        }
        // One draw per asked image, so a re-ask gets a fresh chance of a slip.
        const slip = rng.next() < noise
        if (slip) wrong++
        answers.push({ id, value: (slip ? 1 - truth[id] : truth[id]) as 0 | 1 })
      }
    }
    await opts.onIteration?.(r, answers, skips)
    if (answered >= opts.budget || r.next.ids.length === 0) break
    batches.push(answers)
    for (const a of answers) {
      const g = { id: a.id, batch: batches.length - 1, right: a.value === truth[a.id], flagged: new Set<number>() }
      given.push(g)
      standingGiven.set(a.id, g)
    }
    skipped.push(...skips)
    answered += answers.length
    r = await iterate(p.learner, cfg, batches, skipped)
  }
  const last = new Map(batches.flat().map((a) => [a.id, a.value]))
  // A batch b is fitted at iteration b + 1: "within two batches" is the fits b + 1 and b + 2.
  const checked = given.filter((g) => !g.right && g.batch + 2 <= r.iteration)
  const right = given.filter((g) => g.right)
  return {
    labels: last.size,
    answers: answered,
    wrongAnswers: wrong,
    wrongStanding: [...last].filter(([id, v]) => v !== truth[id]).length,
    iterations: batches.length,
    finalTestAccuracy: r.testAccuracy,
    answersTo985: to985?.answers ?? null,
    labelsTo985: to985?.labels ?? null,
    meanIterationMs: total / (batches.length + 1),
    wrongChecked: checked.length,
    wrongFlagged: checked.filter((g) => g.flagged.has(g.batch + 1) || g.flagged.has(g.batch + 2)).length,
    rightGiven: right.length,
    rightFlagged: right.filter((g) => g.flagged.size > 0).length,
    stop,
    stopBelow97,
    maxDrop
  }
}
