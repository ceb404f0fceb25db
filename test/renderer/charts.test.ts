import { describe, expect, it } from 'vitest'
import { accuracyChart, accuracyPoints, BASELINE_LABEL, LABELLED_LABEL, TEST_LABEL } from '../../src/renderer/src/charts/accuracy'
import { divergingColor } from '../../src/renderer/src/charts/colors'
import { divergingRgb, NEGATIVE_RGB, POSITIVE_RGB } from '../../src/shared/palette'
import { niceCeil } from '../../src/renderer/src/charts/common'
import { HISTOGRAM_LABELS, histogramChart, histogramPeak } from '../../src/renderer/src/charts/histogram'
import { BIAS_LABEL, weightsChart } from '../../src/renderer/src/charts/weights'
import { DEFAULT_TASK } from '../../src/shared/contract'
import { histogram, iteration } from './fake-studio'

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

describe('accuracy chart', () => {
  it('plots held-out and labelled accuracy against the number of labels', () => {
    const history = [
      iteration(0, 0),
      iteration(1, 4, { labelledAccuracy: 0.75 }),
      iteration(2, 8, { testAccuracy: 0.8, labelledAccuracy: 1 })
    ]
    const c = accuracyChart(history)
    expect(c.data.datasets.map((d) => d.label)).toEqual([TEST_LABEL, LABELLED_LABEL])
    expect(c.data.datasets[0].data).toEqual([
      { x: 0, y: 0.5 },
      { x: 4, y: 0.6 },
      { x: 8, y: 0.8 }
    ])
    // iteration 0 has no labelled accuracy: the point is left out, not drawn at 0
    expect(c.data.datasets[1].data).toEqual([
      { x: 4, y: 0.75 },
      { x: 8, y: 1 }
    ])
  })

  it('draws the random baseline dashed, only up to the labels the history reached', () => {
    const history = [iteration(0, 0), iteration(1, 4, { testAccuracy: 0.7 })]
    const baseline = [
      { labels: 0, testAccuracy: 0.5 },
      { labels: 4, testAccuracy: 0.55 },
      { labels: 8, testAccuracy: 0.6 }
    ]
    const c = accuracyChart(history, { baseline })
    expect(c.data.datasets.map((d) => d.label)).toEqual([TEST_LABEL, LABELLED_LABEL, BASELINE_LABEL])
    expect(c.data.datasets[2].data).toEqual([
      { x: 0, y: 0.5 },
      { x: 4, y: 0.55 }
    ])
    expect((c.data.datasets[2] as { borderDash?: number[] }).borderDash).toEqual([5, 4])
    // Without held-out truth there is nothing to compare it with.
    expect(accuracyChart([iteration(0, 0, { testAccuracy: null })], { baseline }).data.datasets).toHaveLength(2)
  })

  it('skips null test accuracy (no ground truth) and keeps the x axis in labels', () => {
    const history = [iteration(0, 0, { testAccuracy: null }), iteration(1, 4, { testAccuracy: null })]
    const { test, labelled } = accuracyPoints(history)
    expect(test).toEqual([])
    expect(labelled).toEqual([{ x: 4, y: 0.9 }])
    const c = accuracyChart(history, { xMax: 40 })
    expect(c.options.scales?.x).toMatchObject({ type: 'linear', min: 0, max: 40 })
    expect(c.options.scales?.y).toMatchObject({ max: 1 })
  })

  it('has no animation, so it redraws instantly', () => {
    expect(accuracyChart([]).options.animation).toBe(false)
    expect(weightsChart([1], 0, DIGITS).options.animation).toBe(false)
    expect(histogramChart(null, DEFAULT_TASK).options.animation).toBe(false)
  })
})

describe('head weights chart', () => {
  it('has one bar per base class plus the bias', () => {
    const w = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.9, -1.0]
    const c = weightsChart(w, 0.25, DIGITS)
    expect(c.data.labels).toEqual([...DIGITS, BIAS_LABEL])
    expect(c.data.datasets[0].data).toEqual([...w, 0.25])
  })

  it('colors by a diverging scale scaled to the largest magnitude, not clipped to ±1', () => {
    const w = [4, -2, 0, 1]
    const c = weightsChart(w, -4, ['a', 'b', 'c', 'd'])
    expect(c.scale).toBe(4)
    const colors = c.data.datasets[0].backgroundColor as string[]
    // +4 is the full positive color, -4 (bias) the full negative one, 0 white
    expect(colors[0]).toBe(`rgb(${POSITIVE_RGB.join(', ')})`)
    expect(colors[4]).toBe(`rgb(${NEGATIVE_RGB.join(', ')})`)
    expect(colors[2]).toBe('rgb(255, 255, 255)')
    // -2 is halfway between white and blue: not saturated, as clipping at ±1 would make it
    expect(colors[1]).toBe(divergingColor(-0.5, 1))
    expect(colors[1]).not.toBe(colors[4])
    // +1 is a quarter of the way to red
    expect(divergingRgb(1, 4)).toEqual(divergingRgb(0.25, 1))
    // the axis shows every bar
    const y = c.options.scales?.y as { min: number; max: number }
    expect(y.max).toBeGreaterThanOrEqual(4)
    expect(y.min).toBeLessThanOrEqual(-4)
  })

  it('blue for negative, red-orange for positive', () => {
    const [nr, , nb] = divergingRgb(-1, 1)
    const [pr, , pb] = divergingRgb(1, 1)
    expect(nb).toBeGreaterThan(nr)
    expect(pr).toBeGreaterThan(pb)
  })

  it('handles all-zero weights and missing class names', () => {
    const c = weightsChart([0, 0, 0], 0, ['x'])
    expect(c.scale).toBe(0)
    expect(c.data.labels).toEqual(['x', '1', '2', BIAS_LABEL])
    expect(new Set(c.data.datasets[0].backgroundColor as string[])).toEqual(new Set(['rgb(255, 255, 255)']))
  })

  it('keeps a fixed axis limit when asked, widening it if a value exceeds it', () => {
    expect((weightsChart([1], 0, DIGITS, { limit: 5 }).options.scales?.y as { max: number }).max).toBe(5)
    expect((weightsChart([7], 0, DIGITS, { limit: 5 }).options.scales?.y as { max: number }).max).toBe(8)
  })
})

describe('P(positive) histogram', () => {
  it('has 11 bins labelled 0.0 to 1.0', () => {
    expect(HISTOGRAM_LABELS).toEqual(['0.0', '0.1', '0.2', '0.3', '0.4', '0.5', '0.6', '0.7', '0.8', '0.9', '1.0'])
    const c = histogramChart(histogram(0, false), DEFAULT_TASK)
    expect(c.data.labels).toHaveLength(11)
  })

  it('stacks by true class, named with the task’s answers', () => {
    const h = histogram(2, true)
    const c = histogramChart(h, { negative: { name: 'even' }, positive: { name: 'odd' } })
    expect(c.data.datasets.map((d) => d.label)).toEqual(['even', 'odd'])
    expect(c.data.datasets[0].data).toEqual(h.byTruth![0])
    expect(c.data.datasets[1].data).toEqual(h.byTruth![1])
    expect(c.options.scales?.x).toMatchObject({ stacked: true })
    expect(c.options.scales?.y).toMatchObject({ stacked: true })
    expect((c.options.scales?.x as { title: { text: string } }).title.text).toBe('P(odd)')
  })

  it('shows one series when there is no ground truth', () => {
    const h = histogram(1, false)
    const c = histogramChart(h, { negative: { name: 'cat' }, positive: { name: 'dog' } })
    expect(c.data.datasets).toHaveLength(1)
    expect(c.data.datasets[0].data).toEqual(h.counts)
    expect(c.options.scales?.x).toMatchObject({ stacked: false })
    expect((c.options.scales?.x as { title: { text: string } }).title.text).toBe('P(dog)')
  })

  it('pads or trims to 11 bins and copes with no data', () => {
    const c = histogramChart({ counts: [1, 2, 3], byTruth: null }, DEFAULT_TASK)
    expect(c.data.datasets[0].data).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0])
    expect(histogramChart(null, DEFAULT_TASK).data.datasets[0].data).toEqual(new Array(11).fill(0))
    expect(histogramPeak({ counts: [1, 9, 3], byTruth: null })).toBe(9)
  })
})

describe('niceCeil', () => {
  it('rounds up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k', () => {
    expect(niceCeil(0.7)).toBe(0.8)
    expect(niceCeil(1.3)).toBe(1.5)
    expect(niceCeil(2.2)).toBe(2.5)
    expect(niceCeil(4)).toBe(4)
    expect(niceCeil(37)).toBe(40)
    expect(niceCeil(0)).toBe(1)
  })

  it('never runs an axis to much more than its largest value (max |w| 2.57 -> ±3, not ±5)', () => {
    expect((weightsChart([2.57, -1], 0.3, DIGITS).options.scales?.y as { max: number }).max).toBe(3)
    for (let x = 0.011; x < 1000; x *= 1.37) expect(niceCeil(x) / x).toBeLessThan(1.34)
  })
})
