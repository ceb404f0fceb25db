// "Why this image": the rule that asked an image, in words and numbers, from what its query
// recorded (strategy, score, P at the time, its place in the batch), and the labelled images
// nearest to it in the base's feature space. Pure functions; the engine feeds them.
import type { CheckKind, WhyReason } from '../../shared/contract'
import { formatP } from '../../shared/format'
import { CHOSEN } from '../../shared/schema'
import type { FeatureMatrix } from './features'
import type { Answer } from './learner'

export interface AskedImage {
  /** The strategy the query recorded ('chosen' for the pool browser). */
  strategy: string
  /** The iteration it was asked in (0: the first batch). */
  iteration: number
  /** Its place in the query, 0-based: strategies list a batch in the order they rank it. */
  position: number
  /** Images in that query. */
  batch: number
  /** The query's score for it and P(positive) when it was asked. */
  score: number
  p: number
  /** Images it was picked from: the pool less those answered (labelled or skipped) before. */
  candidates: number
  /** Images labelled before it was asked. */
  labelledBefore: number
  /** Batches `diverse` spent covering the feature space before it turned to uncertainty. */
  coldStartBatches: number
  /** The checks of the answers asked it (see trust.ts), not the strategy; `position` is then its place among those. */
  check?: CheckKind
}

const n = (x: number) => x.toLocaleString('en-US')
const plural = (k: number, one: string, many = `${one}s`) => `${n(k)} ${k === 1 ? one : many}`

/** The rule that asked it. Unknown strategies get kind 'other', so older builds read newer logs. */
export function whyAsked(a: AskedImage): WhyReason {
  const base = { strategy: a.strategy, p: a.p, candidates: a.candidates, rank: null, distance: null }
  const pWhen = `P ${formatP(a.p)} when asked`
  const inBatch = a.batch > 1 ? `pick ${a.position + 1} of ${a.batch} in its batch, ` : ''
  if (a.check === 'reask')
    return {
      ...base,
      kind: 'reask',
      rank: a.position + 1,
      text: `asked again: fitted without your earlier answer, the model gave that answer only a ${Math.round(a.score * 100)} % chance (${pWhen})`
    }
  if (a.check === 'cover')
    return {
      ...base,
      kind: 'cover',
      text: `a seeded pick of a typical image in a region of the pool no answer covered yet, so every region gets answers (${pWhen})`
    }
  if (a.check === 'confirm')
    return {
      ...base,
      kind: 'confirm',
      text: `a typical image of a region whose answers lead by only ${a.score} for one side: it is confirmed before it is trusted (${pWhen})`
    }
  switch (a.strategy) {
    case 'uncertainty':
      return uncertain(a, base)
    case 'diverse':
      if (a.iteration >= a.coldStartBatches) return uncertain(a, base)
      if (a.score === -Number.MAX_VALUE)
        return {
          ...base,
          kind: 'first-pick',
          rank: a.position + 1,
          text: `a seeded random first pick: nothing was labelled yet, so covering the feature space starts anywhere (${pWhen}, from ${n(a.candidates)} images)`
        }
      return {
        ...base,
        kind: 'farthest',
        rank: a.position + 1,
        distance: -a.score,
        text:
          `drawn far from every labelled image${a.position > 0 ? ` and the ${plural(a.position, 'earlier pick')} of its batch` : ''} (the farther, the likelier): ` +
          `distance ${(-a.score).toFixed(3)} to the nearest of ${plural(a.labelledBefore + a.position, 'image')} (${inBatch}from ${n(a.candidates)}; ${pWhen})`
      }
    case 'random':
      return { ...base, kind: 'random', text: `a seeded random pick among ${n(a.candidates)} images not yet answered (${pWhen})` }
    case 'seed-window': {
      const half = 0.5 - 0.1 * Math.min(a.iteration, 4)
      const window = `P from ${(0.5 - half).toFixed(1)} to ${(0.5 + half).toFixed(1)}`
      if (a.score < 1)
        return {
          ...base,
          kind: 'window',
          text: `a random pick inside the original demo’s window at iteration ${a.iteration} (${window}): ${pWhen}, from ${n(a.candidates)} images`
        }
      return {
        ...base,
        kind: 'window-fill',
        distance: null,
        text: `the original demo’s window (${window}) held too few images, so the nearest to 0.5 filled the batch: ${pWhen}`
      }
    }
    case CHOSEN:
      return { ...base, kind: 'chosen', text: `you chose it in the pool browser (P ${formatP(a.p)} when chosen)` }
    default:
      return { ...base, kind: 'other', text: `asked by the strategy “${a.strategy}” with score ${a.score.toPrecision(3)} (${pWhen})` }
  }
}

function uncertain(a: AskedImage, base: Omit<WhyReason, 'kind' | 'text'>): WhyReason {
  // Uncertainty lists its batch closest first, and nothing beat the batch: its place is its rank in the pool.
  return {
    ...base,
    kind: 'uncertain',
    rank: a.position + 1,
    text: `closest to the boundary: P ${formatP(a.p)}, rank ${n(a.position + 1)} of ${n(a.candidates)}`
  }
}

/** The k labelled images nearest to image `id` (itself left out), by Euclidean distance on the features; nearest first, ties by id. */
export function nearestLabelled(
  f: FeatureMatrix,
  id: number,
  labelled: Answer[],
  k: number
): { id: number; value: 0 | 1; distance: number }[] {
  const { data, dim } = f
  const seen = new Set<number>()
  const out: { id: number; value: 0 | 1; distance: number }[] = []
  for (const a of labelled) {
    if (a.id === id || seen.has(a.id)) continue
    seen.add(a.id)
    let d = 0
    for (let j = 0, ib = id * dim, lb = a.id * dim; j < dim; j++) {
      const t = data[ib + j] - data[lb + j]
      d += t * t
    }
    out.push({ id: a.id, value: a.value, distance: Math.sqrt(d) })
  }
  return out.sort((x, y) => x.distance - y.distance || x.id - y.id).slice(0, k)
}
