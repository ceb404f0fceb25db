// The guess readout and the charts' text summaries: pure functions over the numbers shown.
import { describe, it, expect } from 'vitest'
import { formatP, THRESHOLD } from '../../src/renderer/src/lib/format'
import { accuracySummary, histogramSummary, weightsSummary } from '../../src/renderer/src/charts/summary'
import type { IterationDto } from '../../src/shared/contract'

const task = { negative: { name: 'even' }, positive: { name: 'odd' } }

describe('formatP', () => {
  it('shows two decimals unless they would put p on the other side of the threshold', () => {
    expect(formatP(0.1234)).toBe('0.12')
    expect(formatP(0.5)).toBe('0.50')
    expect(formatP(0.4996)).toBe('0.4996')
    expect(formatP(0.5003)).toBe('0.5003')
    expect(formatP(0.49999991)).toBe('0.499999')
    expect(formatP(0.996)).toBe('1.00')
  })
  it('reads the same side as p for 20,000 values around the threshold', () => {
    for (let k = -10000; k < 10000; k++) {
      const p = THRESHOLD + k * 1.3e-7
      const shown = Number(formatP(p))
      expect(shown >= THRESHOLD, `${p} shown as ${formatP(p)}`).toBe(p >= THRESHOLD)
    }
  })
})

const it0 = (o: Partial<IterationDto>): IterationDto => ({
  iteration: 0,
  labels: 0,
  testAccuracy: 0.5,
  labelledAccuracy: null,
  headWeights: [],
  headBias: 0,
  histogram: { counts: [], byTruth: null },
  iterationMs: 1,
  ...o
})

describe('chart summaries', () => {
  it('accuracy: the last, the first and the best', () => {
    expect(accuracySummary([])).toBe('Accuracy against labels: no iterations yet.')
    const h = [
      it0({}),
      it0({ iteration: 1, labels: 4, testAccuracy: 0.97 }),
      it0({ iteration: 2, labels: 8, testAccuracy: 0.95, labelledAccuracy: 1 })
    ]
    expect(accuracySummary(h)).toBe(
      'Held-out accuracy 95.0% after 8 labels (50.0% at 0 labels, best 97.0% at 4); accuracy on the labels given 100.0%.'
    )
    expect(accuracySummary([it0({ testAccuracy: null, labels: 1 })])).toBe(
      'Accuracy against labels: no held-out ground truth; 1 label so far.'
    )
  })
  it('weights: positive and negative by size, with the class names, and the bias', () => {
    expect(weightsSummary([0.5, -2.57, 0, 1.25], -0.1, ['zero', 'one', 'two', 'three'])).toBe(
      'Head weights: positive three +1.25, zero +0.50; negative one −2.57; 1 at zero; bias −0.10.'
    )
  })
  it('histogram: the two end bins and the middle, and the true classes', () => {
    const counts = [50, 0, 0, 0, 0, 10, 0, 0, 0, 0, 40]
    expect(
      histogramSummary(
        {
          counts,
          byTruth: [
            [50, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 40]
          ]
        },
        task
      )
    ).toBe(
      'P(odd) over 100 images: 50 images (50%) below 0.09, 40 images (40%) at 0.91 or above, 10 images (10%) in between; by true class 55 even images, 45 odd images.'
    )
    expect(histogramSummary(null, task)).toBe('P(odd) over the pool: no images scored yet.')
  })
})
