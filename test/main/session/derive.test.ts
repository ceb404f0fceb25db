import { describe, expect, it } from 'vitest'
import { derive } from '../../../src/main/session/derive'
import { labelEvent, queryEvent, startEvent, trainEvent } from './fixtures'

describe('derive', () => {
  it('keeps the fit that stands: a refit of the same iteration (after a crash) replaces the earlier one', () => {
    const first = { ...trainEvent(1, 2), testAccuracy: 0.5 }
    const refit = { ...trainEvent(1, 2), testAccuracy: 0.75 }
    const d = derive([
      startEvent(),
      trainEvent(0, 0),
      queryEvent(0, [1, 2]),
      labelEvent(1, 1, 0),
      labelEvent(2, 0, 0),
      first,
      refit,
      queryEvent(1, [3, 4])
    ])
    expect(d.trains.map((t) => t.iteration)).toEqual([0, 1])
    expect(d.trains[1]).toBe(refit)
    expect(d.warnings).toEqual([])
  })
})
