import { describe, expect, it } from 'vitest'
import { confirmOps, project, reconcile, toSlots, type LocalOp } from '../../src/renderer/src/lib/batch'
import { fitBatch, gridColumns, TILE_CHROME } from '../../src/renderer/src/lib/layout'
import { cursorMove, isTypingTarget, labelAction, labelShortcuts, playerAction } from '../../src/renderer/src/lib/keys'
import { base64ToBytes, bytesToBase64, displaySize, imageUrl, toBmp } from '../../src/renderer/src/lib/pixels'
import { formFromConfig, validateForm } from '../../src/renderer/src/lib/session-form'
import { DEFAULT_CONFIG, DEFAULT_TASK } from '../../src/shared/contract'
import { sessionState } from '../helpers/session-state'
import { item } from './fake-studio'

const state = sessionState
const label = (id: number, value: 0 | 1) => ({ id, value, iteration: 0, responseMs: 1, at: '', asked: 1 })

describe('optimistic batch bookkeeping', () => {
  const A = [item(1), item(2), item(3), item(4)]
  const P = [item(11), item(12)]
  const N = [item(21), item(22)]

  it('projects local answers over the server queue, switching to the prefetched batch for the last answer', () => {
    const s = state({ queue: A.slice(3), labels: [label(1, 0), label(2, 1), label(3, 1)], next: { positive: P, negative: N } })
    const ops: LocalOp[] = [{ kind: 'label', id: 4, value: 1 }]
    expect(project(s, ops).queue.map((q) => q.id)).toEqual([11, 12])
    expect(project(s, [{ kind: 'label', id: 4, value: 0 }]).queue.map((q) => q.id)).toEqual([21, 22])
    // ... and on into the prefetched batch
    expect(project(s, [...ops, { kind: 'label', id: 11, value: 0 }]).queue.map((q) => q.id)).toEqual([12])
    // a skip of the last item cannot use a prefetch made for an answer
    expect(project(s, [{ kind: 'skip', id: 4, value: null }]).queue).toEqual([])
  })

  it('confirms local answers once the server records them and no longer queues them', () => {
    const ops: LocalOp[] = [
      { kind: 'label', id: 1, value: 1 },
      { kind: 'skip', id: 2, value: null },
      { kind: 'label', id: 3, value: 0 }
    ]
    const s = state({ queue: [A[2], A[3]], labels: [label(1, 1)], skipped: [2] })
    expect(confirmOps(ops, s).map((o) => o.id)).toEqual([3])
  })

  it('keeps answered items on screen while the queue is a subset of the batch', () => {
    const shown = toSlots(A).map((s, i) => (i < 2 ? { ...s, answer: 1 as const } : s))
    const s = state({ queue: A.slice(2), labels: [label(1, 1), label(2, 1)] })
    const next = reconcile(shown, null, project(s, []), s)
    expect(next).toBe(shown)
    // the server has an answer for item 3 the screen did not know about
    const s2 = state({ queue: A.slice(3), labels: [label(1, 1), label(2, 1), label(3, 0)] })
    const n2 = reconcile(shown, null, project(s2, []), s2)
    expect(n2.map((x) => x.answer)).toEqual([1, 1, 0, null])
  })

  it('un-answers an item the server still asks for (a failed or undone answer)', () => {
    const shown = toSlots(A).map((s) => ({ ...s, answer: 1 as const }))
    const s = state({ queue: [A[3]], labels: [label(1, 1), label(2, 1), label(3, 1)] })
    expect(reconcile(shown, null, project(s, []), s).map((x) => x.answer)).toEqual([1, 1, 1, null])
  })

  it('restores the previous batch when an undo goes back across the batch boundary', () => {
    const prev = toSlots(A).map((s) => ({ ...s, answer: 0 as const }))
    const current = toSlots(P)
    const s = state({ queue: [A[3]], labels: [label(1, 0), label(2, 0), label(3, 0)] })
    expect(reconcile(current, prev, project(s, []), s).map((x) => [x.item.id, x.answer])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, null]
    ])
  })

  it('starts a fresh batch for a new queue, and keeps a fully answered batch while waiting', () => {
    const shown = toSlots(A).map((s) => ({ ...s, answer: 1 as const }))
    const waiting = state({ queue: [] })
    expect(reconcile(shown, null, project(waiting, []), waiting)).toBe(shown)
    const fresh = state({ queue: P })
    expect(reconcile(shown, null, project(fresh, []), fresh)).toEqual(toSlots(P))
  })
})

describe('keys', () => {
  it('cursorMove: arrows, pages, Home and End within the list; left and right only in a grid', () => {
    // A list of 20.
    expect([cursorMove('ArrowDown', 3, 20, 1, 8), cursorMove('ArrowUp', 0, 20, 1, 8), cursorMove('PageDown', 15, 20, 1, 8)]).toEqual([
      4, 0, 19
    ])
    expect([cursorMove('Home', 7, 20, 1, 8), cursorMove('End', 7, 20, 1, 8), cursorMove('ArrowRight', 7, 20, 1, 8)]).toEqual([0, 19, null])
    // A grid of 5 columns.
    expect([cursorMove('ArrowDown', 3, 20, 5, 10), cursorMove('ArrowRight', 3, 20, 5, 10), cursorMove('ArrowLeft', 0, 20, 5, 10)]).toEqual([
      8, 4, 0
    ])
    expect([cursorMove('o', 3, 20, 5, 10), cursorMove('End', 0, 0, 1, 8)]).toEqual([null, 0])
  })

  const custom = { negative: { name: 'no', key: 'n' }, positive: { name: 'yes', key: 'Y' } }

  it('maps the default task', () => {
    const a = (key: string, mods: object = {}) => labelAction({ key, ...mods }, DEFAULT_TASK)
    expect(['o', 'O', 'ArrowRight', '1'].map((k) => a(k))).toEqual(['positive', 'positive', 'positive', 'positive'])
    expect(['e', 'E', 'ArrowLeft', '0'].map((k) => a(k))).toEqual(['negative', 'negative', 'negative', 'negative'])
    expect(a('Backspace')).toBe('undo')
    expect(a('z', { ctrlKey: true })).toBe('undo')
    expect(a('z', { metaKey: true })).toBe('undo')
    expect(a('z', { ctrlKey: true, shiftKey: true })).toBeNull()
    expect(a('s')).toBe('skip')
    expect(a('?', { shiftKey: true })).toBe('help')
    expect(a('g')).toBe('guess')
    expect(a('Escape')).toBe('close')
    expect(a('o', { ctrlKey: true })).toBeNull()
    expect(a('r', { metaKey: true })).toBeNull()
    expect(a('x')).toBeNull()
  })

  it('follows the task’s configured keys', () => {
    expect(labelAction({ key: 'y' }, custom)).toBe('positive')
    expect(labelAction({ key: 'n' }, custom)).toBe('negative')
    expect(labelAction({ key: 'o' }, custom)).toBeNull()
    expect(labelAction({ key: 'e' }, custom)).toBeNull()
    expect(labelShortcuts(custom, false)[0]).toEqual({ keys: ['Y', '→', '1'], what: 'yes' })
    expect(labelShortcuts(custom, false)[1]).toEqual({ keys: ['N', '←', '0'], what: 'no' })
  })

  it('maps the player keys', () => {
    expect([' ', 'ArrowLeft', 'ArrowRight', 'Home', 'End'].map((key) => playerAction({ key }))).toEqual([
      'toggle',
      'back',
      'forward',
      'first',
      'last'
    ])
    expect(playerAction({ key: ' ', ctrlKey: true })).toBeNull()
  })

  it('knows when keys belong to a text field', () => {
    expect(isTypingTarget(document.createElement('input'))).toBe(true)
    expect(isTypingTarget(document.createElement('textarea'))).toBe(true)
    expect(isTypingTarget(document.createElement('select'))).toBe(true)
    expect(isTypingTarget(document.createElement('button'))).toBe(false)
    expect(isTypingTarget(document.body)).toBe(false)
    expect(isTypingTarget(window)).toBe(false)
  })
})

describe('pixels', () => {
  it('writes grey and RGB bytes as a top-down 24-bit BMP, rows padded to 4 bytes', () => {
    const grey = toBmp(new Uint8Array([0, 128]), 2, 1, 1)
    expect(String.fromCharCode(grey[0], grey[1])).toBe('BM')
    const v = new DataView(grey.buffer)
    expect([v.getUint32(2, true), v.getUint32(10, true), v.getInt32(18, true), v.getInt32(22, true), v.getUint16(28, true)]).toEqual([
      62, 54, 2, -1, 24
    ])
    expect(Array.from(grey.subarray(54))).toEqual([0, 0, 0, 128, 128, 128, 0, 0])
    // RGB becomes BGR; the second row starts on a 4-byte boundary (3 bytes of a 1-wide row, then 1 of padding)
    expect(Array.from(toBmp(new Uint8Array([1, 2, 3, 4, 5, 6]), 1, 2, 3).subarray(54))).toEqual([3, 2, 1, 0, 6, 5, 4, 0])
    expect(Array.from(base64ToBytes(btoa('\x00\x7f\xff')))).toEqual([0, 127, 255])
  })

  it('makes the same data: URL for the same pixels', () => {
    const p = { width: 2, height: 1, channels: 1, pixelsBase64: btoa('\x00\x80') }
    const url = imageUrl(p)
    expect(url).toMatch(/^data:image\/bmp;base64,Qk0/)
    expect(imageUrl({ ...p })).toBe(url)
    expect(Array.from(base64ToBytes(url.split(',')[1]).subarray(54))).toEqual([0, 0, 0, 128, 128, 128, 0, 0])
  })

  it('encodes base64 as btoa does', () => {
    for (const bytes of [[], [0], [255, 1], [1, 2, 3], [250, 0, 7, 128], [9, 8, 7, 6, 5]])
      expect(bytesToBase64(new Uint8Array(bytes))).toBe(btoa(String.fromCharCode(...bytes)))
  })

  it('shows grey images 4n wide as an 8-bit BMP: a grey palette, then the pixel bytes as they came', () => {
    const pixels = Uint8Array.from({ length: 8 }, (_, i) => i * 30)
    const url = imageUrl({ width: 4, height: 2, channels: 1, pixelsBase64: bytesToBase64(pixels) })
    const file = base64ToBytes(url.slice('data:image/bmp;base64,'.length))
    const v = new DataView(file.buffer)
    expect(String.fromCharCode(file[0], file[1])).toBe('BM')
    expect([v.getUint32(2, true), v.getUint32(10, true), v.getInt32(18, true), v.getInt32(22, true), v.getUint16(28, true)]).toEqual([
      1088, 1080, 4, -2, 8
    ])
    expect(v.getUint32(46, true)).toBe(256)
    expect(Array.from(file.subarray(54 + 4 * 200, 58 + 4 * 200))).toEqual([200, 200, 200, 0])
    expect(Array.from(file.subarray(1080))).toEqual(Array.from(pixels))
  })

  it('enlarges small images by a whole factor (pixelated) and shrinks large ones to fit', () => {
    expect(displaySize(28, 28, 280)).toEqual({ width: 280, height: 280, pixelated: true })
    expect(displaySize(28, 28, 252)).toEqual({ width: 252, height: 252, pixelated: true })
    expect(displaySize(200, 100, 280)).toEqual({ width: 200, height: 100, pixelated: false })
    expect(displaySize(560, 280, 280)).toEqual({ width: 280, height: 140, pixelated: false })
  })
})

describe('new-session form', () => {
  it('turns the defaults back into the default config', () => {
    const { config, errors } = validateForm(formFromConfig(DEFAULT_CONFIG))
    expect(errors).toEqual({})
    expect(config).toEqual(DEFAULT_CONFIG)
  })

  it('re-asks are on unless turned off, and only "off" is written into the config', () => {
    expect(formFromConfig(DEFAULT_CONFIG).reask).toBe(true)
    const off = validateForm({ ...formFromConfig(DEFAULT_CONFIG), reask: false }).config
    expect(off).toEqual({ ...DEFAULT_CONFIG, reask: false })
    expect(formFromConfig(off!).reask).toBe(false)
  })

  it('parses positive classes, limits and keys', () => {
    const f = {
      ...formFromConfig(DEFAULT_CONFIG),
      positiveClasses: ' 1, 3 ,, 3,7 ',
      poolLimit: '500',
      testLimit: '',
      positiveKey: 'Y',
      negativeKey: 'n',
      batchSize: '8'
    }
    const { config } = validateForm(f)
    expect(config?.task.positiveClasses).toEqual(['1', '3', '7'])
    expect(config?.poolLimit).toBe(500)
    expect(config).not.toHaveProperty('testLimit')
    expect(config?.task.positive.key).toBe('y')
    expect(config?.batchSize).toBe(8)
    expect(validateForm({ ...f, positiveClasses: '' }).config?.task.positiveClasses).toBeNull()
  })

  it('rejects clashing or reserved keys and bad numbers', () => {
    const base = formFromConfig(DEFAULT_CONFIG)
    expect(validateForm({ ...base, positiveKey: 'e' }).errors.positiveKey).toBe('must differ from the negative answer’s key')
    expect(validateForm({ ...base, positiveKey: 's' }).errors.positiveKey).toBe(
      'must not be a key the studio uses (S, G, ?, 0, 1, Space), got "s"'
    )
    expect(validateForm({ ...base, negativeKey: 'ab' }).errors.negativeKey).toBe('must be one character, got "ab"')
    expect(validateForm({ ...base, batchSize: 0 }).errors.batchSize).toBe('must be a whole number from 1 to 64, got 0')
    expect(validateForm({ ...base, batchSize: 65 }).errors.batchSize).toBe('must be a whole number from 1 to 64, got 65')
    expect(validateForm({ ...base, unfreeze: 4 }).errors).toEqual({})
    expect(validateForm({ ...base, unfreeze: 5 }).errors.unfreeze).toBe('must be a whole number from 0 to 4, got 5')
    expect(validateForm({ ...base, seed: 1.5 }).errors.seed).toBe('must be a whole number from 0 to 2147483647, got 1.5')
    expect(validateForm({ ...base, seed: 'abc' }).errors.seed).toBe('must be a whole number from 0 to 2147483647, got "abc"')
    // Too long for a double to hold exactly: the message echoes the digits typed.
    expect(validateForm({ ...base, seed: '12345678901234567890' }).errors.seed).toBe(
      'must be a whole number from 0 to 2147483647, got "12345678901234567890"'
    )
    expect(validateForm({ ...base, seed: ' 42 ' }).config?.seed).toBe(42)
    expect(validateForm({ ...base, poolLimit: '-3' }).errors.poolLimit).toBe('must be a whole number from 1 to 100000000, got -3')
    // Every wrong field at once, one message each.
    expect(Object.keys(validateForm({ ...base, batchSize: 0, seed: -1, question: ' ' }).errors).sort()).toEqual([
      'batchSize',
      'question',
      'seed'
    ])
    expect(validateForm({ ...base, dataset: ' ' }).config).toBeNull()
  })
})

describe('batch layout', () => {
  it('picks the column count that makes images largest, in whole multiples of 28', () => {
    // a wide, short area: one row
    expect(fitBatch(4, 28, 1200, 300)).toEqual({ columns: 4, box: 252 })
    // a squarish area: 2 x 2
    const sq = fitBatch(4, 28, 600, 600)
    expect(sq.columns).toBe(2)
    expect(sq.box % 28).toBe(0)
    expect(sq.box).toBe(224)
    // never larger than the cap
    expect(fitBatch(1, 28, 2000, 2000).box).toBeLessThanOrEqual(336)
    // large photos are shrunk to fit, not quantised
    expect(fitBatch(2, 500, 700, 400)).toEqual({ columns: 2, box: 327 })
    // a tiny window still gives a usable size
    expect(fitBatch(16, 28, 100, 100).box).toBe(56)
  })

  it('never makes a row wider than the area, even when the box is held at its minimum', () => {
    const width = (l: { columns: number; box: number }) => l.columns * (l.box + TILE_CHROME.x) + (l.columns - 1) * TILE_CHROME.gap
    // 64 images in the card a 1440x900 and a 1024x700 window leave, and a tiny one
    for (const [w, h] of [
      [928, 552],
      [512, 325],
      [100, 100]
    ]) {
      const l = fitBatch(64, 28, w, h)
      expect(l.box).toBe(56)
      expect(width(l), `${w}x${h}`).toBeLessThanOrEqual(Math.max(w, 56 + TILE_CHROME.x))
    }
    expect(fitBatch(64, 28, 928, 552).columns).toBe(10)
    expect(fitBatch(64, 28, 40, 40).columns).toBe(1)
    // the grid's columns are at least as wide as the tiles, all alike
    expect(gridColumns({ columns: 10, box: 56 })).toBe('repeat(10, minmax(72px, 1fr))')
  })
})
