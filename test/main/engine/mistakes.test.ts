// The mistakes view: the pure fold over held-out P and truth, and the studio's answer after
// real fits (including while the engine holds a speculative fit for the next batch).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { imagePixels, ImageSet } from '../../../src/main/data/dataset'
import { loadMnist } from '../../../src/main/data/mnist'
import { confidence, mistakesOf } from '../../../src/main/engine/mistakes'
import { startTestStudio, testConfig, TestStudio } from '../../helpers/studio'

function tinySet(classes: number[]): ImageSet {
  const n = classes.length
  return {
    count: n,
    pixels: Uint8Array.from({ length: n * 4 }, (_, i) => i),
    offsets: Float64Array.from({ length: n }, (_, i) => i * 4),
    widths: new Uint16Array(n).fill(2),
    heights: new Uint16Array(n).fill(2),
    channels: new Uint8Array(n).fill(1),
    classes: Int32Array.from(classes)
  }
}

describe('mistakesOf', () => {
  // Classes a (negative), b and c (positive); image 5 has no ground truth.
  const set = tinySet([0, 0, 1, 1, 2, 2])
  const truth = Int8Array.from([0, 0, 1, 1, 1, -1])
  const p = [0.1, 0.7, 0.45, 0.99, 0.2, 0.9]
  const h = { p, truth, set, classNames: ['a', 'b', 'c'] }

  it('counts the confusion matrix and per-class accuracy, skipping images without truth', () => {
    const m = mistakesOf(h, { iteration: 3, labels: 12 }, null, 10)
    expect(m.confusion).toEqual([
      [1, 1],
      [2, 1]
    ])
    expect(m.perClass).toEqual([
      { name: 'a', positive: false, count: 2, correct: 1 },
      { name: 'b', positive: true, count: 2, correct: 1 },
      { name: 'c', positive: true, count: 1, correct: 0 }
    ])
    expect(m).toMatchObject({ iteration: 3, labels: 12, cell: null, total: 0, items: [] })
  })

  it('a cell holds its images, the most confident first, with their pixels; a class lists its mistakes first', () => {
    const fn = mistakesOf(h, { iteration: 3, labels: 12 }, { truth: 1, predicted: 0 }, 10)
    expect(fn.items.map((i) => i.id)).toEqual([4, 2]) // p 0.2 is surer than p 0.45
    expect(fn.items[0]).toMatchObject({ p: 0.2, truth: 1, className: 'c', width: 2, height: 2, channels: 1 })
    expect(Buffer.from(fn.items[0].pixelsBase64, 'base64')).toEqual(Buffer.from(imagePixels(set, 4)))
    const b = mistakesOf(h, { iteration: 3, labels: 12 }, { className: 'b' }, 10)
    expect(b.items.map((i) => i.id)).toEqual([2, 3])
    const limited = mistakesOf(h, { iteration: 3, labels: 12 }, { className: 'a' }, 1)
    expect([limited.total, limited.items.map((i) => i.id)]).toEqual([2, [1]])
    expect(mistakesOf(h, { iteration: 0, labels: 0 }, { className: 'nope' }, 10).total).toBe(0)
    expect(confidence(0.5)).toBe(0)
  })
})

let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
}, 300_000)
afterAll(async () => {
  await ts?.close()
})

describe('studio.mistakes', () => {
  it('agrees with the held-out accuracy of the last standing fit, even with a speculative fit in the engine', async () => {
    const mnist = loadMnist({ pool: 800, test: 200 })
    let s = await ts.studio.newSession(testConfig())
    for (let b = 0; b < 2; b++) {
      for (const q of s.queue) await ts.studio.label(q.id, mnist.pool.classes![q.id] % 2 === 1 ? 1 : 0, 40)
      s = (await ts.studio.state())!
    }
    // Three of four answered: the engine has fitted both answers to the fourth.
    for (const q of s.queue.slice(0, 3)) await ts.studio.label(q.id, 1, 40)
    s = (await ts.studio.state())!
    expect(s.next).not.toBeNull()
    const last = s.history.at(-1)!
    const m = (await ts.studio.mistakes())!
    expect(m).toMatchObject({ iteration: last.iteration, labels: last.labels })
    const [[tn, fp], [fn, tp]] = m.confusion
    expect(tn + fp + fn + tp).toBe(200)
    expect((tn + tp) / 200).toBe(last.testAccuracy)
    expect(m.perClass.map((c) => c.name)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    expect(m.perClass.reduce((n, c) => n + c.count, 0)).toBe(200)
    expect(m.perClass.filter((c) => c.positive).map((c) => c.name)).toEqual(['1', '3', '5', '7', '9'])
    expect(m.perClass.reduce((n, c) => n + c.correct, 0)).toBe(tn + tp)

    for (const cell of [
      { truth: 0, predicted: 1 },
      { truth: 1, predicted: 1 }
    ] as const) {
      const c = (await ts.studio.mistakes(cell, 5))!
      expect(c.total).toBe(m.confusion[cell.truth][cell.predicted])
      expect(c.items.length).toBe(Math.min(5, c.total))
      for (const it of c.items) {
        expect([it.truth, it.p >= 0.5 ? 1 : 0]).toEqual([cell.truth, cell.predicted])
        expect(Buffer.from(it.pixelsBase64, 'base64')).toEqual(Buffer.from(imagePixels(mnist.test!, it.id)))
        expect(it.className).toBe(String(mnist.test!.classes![it.id]))
      }
      const conf = c.items.map((it) => confidence(it.p))
      expect(conf).toEqual([...conf].sort((a, b) => b - a))
    }
    const seven = (await ts.studio.mistakes({ className: '7' }))!
    expect(seven.total).toBe(m.perClass.find((c) => c.name === '7')!.count)
    expect(seven.items.every((it) => it.className === '7' && it.truth === 1)).toBe(true)
    // The labelling goes on undisturbed: the fourth answer uses the speculation.
    expect(s.queue).toHaveLength(1)
    await ts.studio.label(s.queue[0].id, 0, 40)
    expect((await ts.studio.state())!.history).toHaveLength(4)
  }, 300_000)
})
