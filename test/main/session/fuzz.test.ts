// Seeded fuzz test of the log reader: build a valid log, damage it, and check that the reader
// never throws (except BAD_DATA when no valid start comes first) and never loses an original
// line that survived intact, complete and in a legal position.
import { Rng } from '../../../src/main/util/rng'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { openSessionLog, readSessionLog } from '../../../src/main/session/log'
import { validateEvent } from '../../../src/main/session/events'
import type { SessionEvent } from '../../../src/main/session/events'
import { CuratorError } from '../../../src/shared/errors'
import { labelEvent, queryEvent, skipEvent, startEvent, trainEvent, undoEvent } from './fixtures'

const CASES = 400

function validLog(rng: Rng): string[] {
  const events: SessionEvent[] = [startEvent({ id: `fuzz-${rng.int(1e6)}` })]
  const n = 3 + rng.int(30)
  for (let i = 0; i < n; i++) {
    const id = rng.int(100)
    const k = rng.int(6)
    events.push(
      k === 0
        ? queryEvent(i, [id, id + 1])
        : k === 1
          ? skipEvent(id, i)
          : k === 2
            ? undoEvent(id)
            : k === 3
              ? trainEvent(i, i)
              : labelEvent(id, (id % 2) as 0 | 1, i)
    )
  }
  return events.map((e) => JSON.stringify(e))
}

// Line-level helpers: a file is its '\n'-separated segments (the last is '' after a final newline).
const split = (b: Buffer): Buffer[] => {
  const out: Buffer[] = []
  let s = 0
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, s)) {
    out.push(b.subarray(s, i))
    s = i + 1
  }
  out.push(b.subarray(s))
  return out
}
const join = (segs: Buffer[]): Buffer => Buffer.concat(segs.flatMap((s, i) => (i ? [Buffer.from('\n'), s] : [s])))
/** Indexes of the segments that are lines (not the empty remainder after a final newline). */
const lineCount = (segs: Buffer[]): number => (segs[segs.length - 1].length === 0 ? segs.length - 1 : segs.length)

const MUTATIONS: Record<string, (b: Buffer, rng: Rng) => Buffer> = {
  truncate: (b, rng) => b.subarray(0, rng.int(b.length + 1)),
  // A crash right after a whole line but before its newline: the last line is complete.
  newline: (b, rng) => {
    const nls = split(b).length - 1
    if (nls === 0) return b
    const k = rng.next() < 0.5 ? nls - 1 : rng.int(nls) // usually the final newline
    let at = -1
    for (let i = 0; i <= k; i++) at = b.indexOf(10, at + 1)
    return b.subarray(0, at)
  },
  garbage: (b, rng) => {
    const at = rng.int(b.length + 1)
    const junk = Buffer.from(Array.from({ length: 1 + rng.int(20) }, () => (rng.next() < 0.1 ? 10 : rng.int(256))))
    return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)])
  },
  duplicate: (b, rng) => {
    const segs = split(b)
    const n = lineCount(segs)
    if (n === 0) return b
    const i = rng.int(n)
    const to = rng.next() < 0.5 ? i + 1 : rng.int(n + 1)
    segs.splice(to, 0, segs[i])
    return join(segs)
  },
  reorder: (b, rng) => {
    const segs = split(b)
    const n = lineCount(segs)
    if (n < 2) return b
    const i = rng.int(n)
    const j = rng.next() < 0.5 ? Math.min(n - 1, i + 1) : rng.int(n)
    ;[segs[i], segs[j]] = [segs[j], segs[i]]
    return join(segs)
  },
  version: (b, rng) => {
    const segs = split(b)
    const n = lineCount(segs)
    if (n === 0) return b
    const i = rng.int(n)
    const v = ['0', '2', '7', '"1"', 'null', '1.0', '1e0'][rng.int(7)] // 1.0 and 1e0 still mean 1
    segs[i] = Buffer.from(segs[i].toString('latin1').replace('"v":1', `"v":${v}`), 'latin1')
    return join(segs)
  },
  flip: (b, rng) => {
    const c = Buffer.from(b)
    for (let k = 1 + rng.int(5); k > 0 && c.length > 0; k--) c[rng.int(c.length)] ^= 1 + rng.int(255)
    return c
  }
}
const NAMES = Object.keys(MUTATIONS)

const utf8 = new TextDecoder('utf-8', { fatal: true })
function parses(seg: Buffer): unknown {
  try {
    return JSON.parse(utf8.decode(seg))
  } catch {
    return undefined
  }
}
function isValid(seg: Buffer): SessionEvent | null {
  const json = parses(seg)
  if (json === undefined) return null
  try {
    return validateEvent(json)
  } catch {
    return null
  }
}

let dir: string
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'curator-fuzz-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

it(`never throws and never loses an intact valid line (${CASES} seeded cases)`, async () => {
  let badData = 0
  let kept = 0
  for (let c = 0; c < CASES; c++) {
    const rng = new Rng(1000 + c)
    const original = validLog(rng)
    const startLine = original[0]
    let bytes: Buffer = Buffer.from(original.map((l) => l + '\n').join(''))
    const applied: string[] = []
    for (let m = rng.int(4); m > 0; m--) {
      const name = NAMES[rng.int(NAMES.length)]
      applied.push(name)
      bytes = MUTATIONS[name](bytes, rng)
    }
    const caseDir = path.join(dir, `case-${c}`)
    await fs.mkdir(caseDir)
    await fs.writeFile(path.join(caseDir, 'session.jsonl'), bytes)
    const label = `case ${c} (${applied.join(', ') || 'no mutation'})`

    // The oracle: which segments are complete lines, which are intact originals, and
    // whether the first valid line is a start (else BAD_DATA is the documented answer).
    const segs = split(bytes)
    const n = lineCount(segs)
    const originals = new Set(original)
    const complete = (i: number): boolean => i < segs.length - 1 || parses(segs[i]) !== undefined
    let first: SessionEvent | null = null
    for (let i = 0; i < n && !first; i++) if (complete(i)) first = isValid(segs[i])
    const expectBadData = first === null || first.type !== 'start'
    const mustKeep: string[] = []
    let firstValidSeen = false
    for (let i = 0; i < n; i++) {
      if (!complete(i)) continue
      const valid = isValid(segs[i]) !== null
      const text = segs[i].toString('latin1')
      const legal = text !== startLine || !firstValidSeen // only the first valid line may be a start
      if (valid) firstValidSeen = true
      if (originals.has(text) && legal) mustKeep.push(text)
    }

    let result: Awaited<ReturnType<typeof readSessionLog>>
    try {
      result = await readSessionLog(caseDir)
    } catch (err) {
      expect(err instanceof CuratorError && err.code === 'BAD_DATA', `${label}: threw ${String(err)}`).toBe(true)
      expect(expectBadData, `${label}: unexpected BAD_DATA: ${(err as Error).message}`).toBe(true)
      badData++
      continue
    }
    expect(expectBadData, `${label}: expected BAD_DATA`).toBe(false)
    const got = new Set(result.events.map((e) => JSON.stringify(e)))
    for (const text of mustKeep) expect(got.has(text), `${label}: lost ${text}`).toBe(true)
    expect(result.events[0].type, label).toBe('start')
    expect(
      result.events.filter((e) => e.type === 'start'),
      label
    ).toHaveLength(1)
    for (const e of result.events) validateEvent(e)
    for (const w of result.warnings) expect(w, label).toMatch(/^line \d+: /)
    kept += mustKeep.length

    // Opening repairs the file for appending and never drops a kept event.
    const opened = await openSessionLog(caseDir)
    expect(opened.events, label).toEqual(result.events)
    const extra = labelEvent(999)
    await opened.log.append(extra)
    await opened.log.close()
    const again = await readSessionLog(caseDir)
    expect(again.truncatedTail, label).toBe(false)
    expect(again.events, label).toEqual([...result.events, extra])
  }
  // The mutations must leave enough readable cases for the test to mean something.
  expect(badData).toBeLessThan(CASES / 2)
  expect(kept).toBeGreaterThan(CASES * 5)
})
