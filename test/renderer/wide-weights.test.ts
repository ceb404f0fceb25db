// A wide base (1,280 features) gets a head-weight chart of its largest weights, not 1,280 bars.
import { describe, it, expect } from 'vitest'
import { MAX_BARS, shownWeights, weightsChart } from '../../src/renderer/src/charts/weights'
import { weightsSummary } from '../../src/renderer/src/charts/summary'

describe('head weights of a wide base', () => {
  const weights = Array.from({ length: 1280 }, (_, i) => (i === 7 ? -3 : i === 900 ? 2.5 : Math.sin(i) * 0.01))
  it('shows the largest weights by magnitude, in feature order, named by feature index, plus the bias', () => {
    const c = weightsChart(weights, 0.1, [])
    expect(c.data.labels).toHaveLength(MAX_BARS + 1)
    expect(c.data.labels![0]).toBe('f7')
    expect(c.data.labels).toContain('f900')
    expect(c.data.labels!.at(-1)).toBe('bias')
    expect(c.data.datasets[0].data[0]).toBe(-3)
    expect(c.scale).toBe(3)
  })
  it('keeps every bar for few weights or named classes, and says what it left out in the summary', () => {
    expect(shownWeights([1, 2, 3], ['a', 'b', 'c']).labels).toEqual(['a', 'b', 'c'])
    const named = Array.from({ length: 30 }, (_, i) => `class ${i}`)
    expect(shownWeights(Array(30).fill(1), named).values).toHaveLength(30)
    expect(weightsSummary(weights, 0, [])).toMatch(/^Head weights \(the 20 largest of 1280\): positive .*f900/)
  })
})
