import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createSessionLog, openSessionLog, readSessionLog } from '../../../src/main/session/log'
import { LOCK_FILE } from '../../../src/main/session/lock'
import { validateEvent } from '../../../src/main/session/events'
import type { SessionEvent } from '../../../src/main/session/events'
import { CuratorError } from '../../../src/shared/errors'
import { labelEvent, queryEvent, skipEvent, startEvent, trainEvent, undoEvent } from './fixtures'

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'curator-log-'))
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

const file = (): string => path.join(dir, 'session.jsonl')
const line = (e: unknown): string => JSON.stringify(e) + '\n'

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    if (err instanceof CuratorError) return err.code
    throw err
  }
  return 'no error'
}

describe('session log', () => {
  it('round-trips every event type', async () => {
    const sub = path.join(dir, 'a', 'b') // created recursively
    const start = startEvent()
    const events: SessionEvent[] = [
      start,
      queryEvent(0, [3, 1, 4]),
      labelEvent(3, 1),
      skipEvent(1),
      labelEvent(4, 0),
      undoEvent(4),
      labelEvent(4, 1),
      trainEvent(1, 2)
    ]
    const log = await createSessionLog(sub, start)
    for (const e of events.slice(1)) await log.append(e)
    await log.close()
    expect(await readSessionLog(sub)).toEqual({ events, warnings: [], truncatedTail: false })
    const text = await fs.readFile(path.join(sub, 'session.jsonl'), 'utf8')
    expect(text).toBe(events.map(line).join(''))

    // Reopen and continue.
    const opened = await openSessionLog(sub)
    expect(opened.events).toEqual(events)
    expect(opened.warnings).toEqual([])
    const more = labelEvent(9)
    await opened.log.append(more)
    await opened.log.close()
    expect((await readSessionLog(sub)).events).toEqual([...events, more])
    expect(await fs.readdir(sub)).toEqual(['session.jsonl']) // no temp or backup files left
  })

  it('serialises concurrent appends into whole lines, in call order', async () => {
    const log = await createSessionLog(dir, startEvent())
    const labels = Array.from({ length: 200 }, (_, i) => labelEvent(i, (i % 2) as 0 | 1))
    await Promise.all(labels.map((e) => log.append(e)))
    await log.close()
    const r = await readSessionLog(dir)
    expect(r.warnings).toEqual([])
    expect(r.events.slice(1)).toEqual(labels)
  })

  it('refuses to overwrite an existing log', async () => {
    const first = startEvent()
    const log = await createSessionLog(dir, first)
    await log.append(labelEvent(1))
    await log.close()
    const before = await fs.readFile(file())
    expect(await codeOf(createSessionLog(dir, startEvent()))).toBe('EXISTS')
    expect(await fs.readFile(file())).toEqual(before)
    expect(await fs.readdir(dir)).toEqual(['session.jsonl'])
  })

  it('rejects bad appends, a second start, and appends after close', async () => {
    const log = await createSessionLog(dir, startEvent())
    await expect(log.append({ ...labelEvent(1), value: 2 } as never)).rejects.toThrow(
      'invalid session event: label.value must be 0 or 1, got 2'
    )
    await expect(log.append(startEvent())).rejects.toThrow(/exactly one start/)
    await log.append(labelEvent(2)) // still usable
    await log.close()
    expect(await codeOf(log.append(labelEvent(3)))).toBe('NO_SESSION')
    expect((await readSessionLog(dir)).events.map((e) => e.type)).toEqual(['start', 'label'])
  })

  it('reports NOT_FOUND without a log and BAD_DATA without a valid start first', async () => {
    expect(await codeOf(readSessionLog(dir))).toBe('NOT_FOUND')
    expect(await codeOf(openSessionLog(path.join(dir, 'missing')))).toBe('NOT_FOUND')
    await fs.writeFile(file(), '')
    expect(await codeOf(readSessionLog(dir))).toBe('BAD_DATA')
    await fs.writeFile(file(), 'garbage\n' + line(labelEvent(1)) + line(startEvent()))
    expect(await codeOf(readSessionLog(dir))).toBe('BAD_DATA')
    await fs.writeFile(file(), line({ ...startEvent(), v: 2 }) + line(labelEvent(1)))
    expect(await codeOf(readSessionLog(dir))).toBe('BAD_DATA')
  })

  it('reports malformed lines with their line numbers and still opens', async () => {
    const start = startEvent()
    const l2 = labelEvent(2)
    const l11 = labelEvent(11)
    const skip = skipEvent(5)
    const lines = [
      line(start), //                                      1
      line(l2), //                                         2
      '{"v":1,"type":"label",\n', //                        3
      line({ ...labelEvent(3), v: 7 }), //                  4
      line(l2), //                                         5 duplicate of 2
      line(startEvent()), //                               6 second start
      line({ v: 1, type: 'rename', at: start.at }), //     7
      '\n', //                                             8
      line({ ...labelEvent(4), value: 2 }), //             9
      line(l11), //                                        10
      line(l11), //                                        11 duplicate of 10
      line({ ...trainEvent(1, 1), headBias: 'x' }), //     12
      Buffer.from([0xff, 0xfe, 0x0a]), //                  13
      line(skip) //                                        14
    ]
    await fs.writeFile(file(), Buffer.concat(lines.map((l) => (typeof l === 'string' ? Buffer.from(l) : l))))
    const r = await readSessionLog(dir)
    expect(r.events).toEqual([start, l2, l11, skip])
    expect(r.truncatedTail).toBe(false)
    expect(r.warnings).toEqual([
      'line 3: invalid JSON',
      'line 4: event.v must be format version 1, got 7',
      'line 5: duplicate of line 2',
      'line 6: a second start event (a session has exactly one), ignored',
      'line 7: event.type must be one of start, query, label, skip, remap, relabel, undo, train, got "rename"',
      'line 8: empty line',
      'line 9: label.value must be 0 or 1, got 2',
      'line 11: duplicate of line 10',
      'line 12: train.headBias must be a finite number, got "x"',
      'line 13: not valid UTF-8'
    ])

    // The session opens, nothing is rewritten, and appending works.
    const before = await fs.readFile(file())
    const opened = await openSessionLog(dir)
    expect(opened.events).toEqual(r.events)
    expect(opened.warnings).toEqual(r.warnings)
    expect(await fs.readFile(file())).toEqual(before)
    const l20 = labelEvent(20)
    await opened.log.append(l20)
    await opened.log.close()
    const after = await readSessionLog(dir)
    expect(after.events).toEqual([...r.events, l20])
    expect(after.warnings).toEqual(r.warnings)
    expect(await fs.readdir(dir)).toEqual(['session.jsonl'])
  })

  it('recovers a truncated tail: reports it, backs the file up, cuts it and appends cleanly', async () => {
    const events = [startEvent(), queryEvent(0, [1, 2]), labelEvent(1), labelEvent(2)]
    const partial = line(labelEvent(3)).slice(0, 25)
    const original = events.map(line).join('') + partial
    await fs.writeFile(file(), original)

    const r = await readSessionLog(dir)
    expect(r.events).toEqual(events)
    expect(r.truncatedTail).toBe(true)
    expect(r.warnings).toEqual([`line 5: incomplete last line (crash while writing), 25 bytes ignored`])
    expect(await fs.readFile(file(), 'utf8')).toBe(original) // reading never changes the file

    const opened = await openSessionLog(dir)
    expect(opened.events).toEqual(events)
    expect(opened.warnings[0]).toBe(r.warnings[0])
    expect(opened.warnings[1]).toMatch(/incomplete last line was removed; the original file was saved as session\.jsonl\.bak-/)
    const names = await fs.readdir(dir)
    const backup = names.find((n) => n.startsWith('session.jsonl.bak-'))
    expect(backup).toBeDefined()
    expect(names.sort()).toEqual([LOCK_FILE, backup, 'session.jsonl'].sort()) // locked while open
    expect(await fs.readFile(path.join(dir, backup!), 'utf8')).toBe(original)
    expect(await fs.readFile(file(), 'utf8')).toBe(events.map(line).join(''))

    const l3 = labelEvent(3)
    await opened.log.append(l3)
    await opened.log.close()
    expect(await readSessionLog(dir)).toEqual({ events: [...events, l3], warnings: [], truncatedTail: false })
  })

  it('keeps a complete last line that only lost its newline, and adds the newline on open', async () => {
    const events = [startEvent(), labelEvent(1), labelEvent(2)]
    const text = events.map(line).join('').slice(0, -1)
    await fs.writeFile(file(), text)
    expect(await readSessionLog(dir)).toEqual({ events, warnings: [], truncatedTail: false })
    const opened = await openSessionLog(dir)
    expect(opened.warnings).toEqual([])
    const l3 = labelEvent(3)
    await opened.log.append(l3)
    await opened.log.close()
    expect(await fs.readFile(file(), 'utf8')).toBe(text + '\n' + line(l3))
    expect(await fs.readdir(dir)).toEqual(['session.jsonl']) // nothing was cut, so no backup
  })

  it('keeps a last line that parses but is invalid, reported, and not cut off', async () => {
    const events = [startEvent(), labelEvent(1)]
    const bad = JSON.stringify({ ...labelEvent(2), v: 9 })
    await fs.writeFile(file(), events.map(line).join('') + bad)
    const r = await readSessionLog(dir)
    expect(r).toEqual({ events, warnings: ['line 3: event.v must be format version 1, got 9'], truncatedTail: false })
    const opened = await openSessionLog(dir)
    await opened.log.append(labelEvent(3))
    await opened.log.close()
    const text = await fs.readFile(file(), 'utf8')
    expect(text.split('\n')[2]).toBe(bad)
    expect((await readSessionLog(dir)).events).toHaveLength(3)
  })
})

describe('validateEvent', () => {
  it('accepts every valid event type, returning the same object', () => {
    for (const e of [startEvent(), queryEvent(1, [1]), labelEvent(1), skipEvent(1), undoEvent(1), trainEvent(1, 1)]) {
      expect(validateEvent(e)).toEqual(e)
    }
    expect(validateEvent({ ...trainEvent(0, 0), testAccuracy: null, histogram: { counts: Array(11).fill(0), byTruth: null } })).toBeTruthy()
    expect(
      validateEvent(startEvent({ config: { ...startEvent().config, task: { ...startEvent().config.task, positiveClasses: null } } }))
    ).toBeTruthy()
    // File keys of folder datasets, and the remap of a changed folder.
    const withKeys = [
      { ...queryEvent(1, [1, 2]), keys: ['seven/a.png', 'b c/ü.jpg'] },
      { ...labelEvent(1), key: 'seven/a.png' },
      { ...skipEvent(2), key: 'b c/ü.jpg' }
    ]
    const remap = {
      v: 1,
      type: 'remap',
      at: startEvent().at,
      dataset: startEvent().dataset,
      ids: [
        [1, 0],
        [2, 5]
      ],
      missing: [{ id: 3, key: 'gone.png', reason: 'no longer in the folder' }]
    }
    for (const e of [...withKeys, remap]) expect(validateEvent(e)).toEqual(e)
  })

  const start = startEvent()
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'hello', /^event must be an object, got "hello"$/],
    ['null', null, /^event must be an object, got null$/],
    ['an array', [1], /^event must be an object, got a list$/],
    ['missing version', { ...labelEvent(1), v: undefined }, /^event\.v is missing \(the format version\)$/],
    ['future version', { ...labelEvent(1), v: 2 }, /^event\.v must be format version 1, got 2$/],
    ['version as a string', { ...labelEvent(1), v: '1' }, /^event\.v must be format version 1, got "1"$/],
    ['missing type', { v: 1, at: start.at }, /^event\.type is missing$/],
    [
      'unknown type',
      { ...labelEvent(1), type: 'rename' },
      /^event\.type must be one of start, query, label, skip, remap, relabel, undo, train, got "rename"$/
    ],
    ['type not a string', { ...labelEvent(1), type: 3 }, /^event\.type must be one of .*, got 3$/],
    ['missing at', { ...labelEvent(1), at: undefined }, /^label\.at is missing$/],
    ['bad at', { ...labelEvent(1), at: 'yesterday' }, /^label\.at must be an ISO timestamp, got "yesterday"$/],
    ['impossible date', { ...labelEvent(1), at: '2025-13-45T99:00:00Z' }, /^label\.at must be an ISO timestamp/],
    ['unknown field', { ...labelEvent(1), extra: true }, /^label\.extra is not a known field$/],
    ['missing field', { v: 1, type: 'label', at: start.at, id: 1, value: 1, iteration: 0 }, /^label\.responseMs is missing$/],
    ['label value 2', { ...labelEvent(1), value: 2 }, /^label\.value must be 0 or 1, got 2$/],
    ['label value true', { ...labelEvent(1), value: true }, /^label\.value must be 0 or 1, got true$/],
    ['negative id', { ...labelEvent(1), id: -1 }, /^label\.id must be a whole number >= 0, got -1$/],
    ['fractional id', { ...skipEvent(1), id: 1.5 }, /^skip\.id must be a whole number >= 0, got 1\.5$/],
    ['id as a string', { ...undoEvent(1), id: '1' }, /^undo\.id must be a whole number >= 0, got "1"$/],
    ['NaN response time', { ...labelEvent(1), responseMs: NaN }, /^label\.responseMs must be a finite number, got NaN$/],
    ['negative response time', { ...labelEvent(1), responseMs: -3 }, /^label\.responseMs must be a number >= 0, got -3$/],
    [
      'infinite head weight',
      { ...trainEvent(1, 1), headWeights: [1, Infinity] },
      /^train\.headWeights\[1\] must be a finite number, got Infinity$/
    ],
    ['accuracy above 1', { ...trainEvent(1, 1), testAccuracy: 1.5 }, /^train\.testAccuracy must be a number from 0 to 1, got 1\.5$/],
    [
      '10 histogram bins',
      { ...trainEvent(1, 1), histogram: { counts: Array(10).fill(0), byTruth: null } },
      /^train\.histogram\.counts must have 11 items, got 10$/
    ],
    [
      'fractional count',
      { ...trainEvent(1, 1), histogram: { counts: [...Array(10).fill(0), 0.5], byTruth: null } },
      /^train\.histogram\.counts\[10\] must be a whole number >= 0, got 0\.5$/
    ],
    [
      'byTruth of 1 row',
      { ...trainEvent(1, 1), histogram: { counts: Array(11).fill(0), byTruth: [Array(11).fill(0)] } },
      /^train\.histogram\.byTruth\[1\] is missing$/
    ],
    ['query lengths differ', { ...queryEvent(0, [1, 2]), p: [0.5] }, /^query needs ids, scores and p of the same length, got 2, 2, 1$/],
    ['query p above 1', { ...queryEvent(0, [1]), p: [2] }, /^query\.p\[0\] must be a number from 0 to 1, got 2$/],
    ['query ids not an array', { ...queryEvent(0, [1]), ids: 1 }, /^query\.ids must be a list, got 1$/],
    [
      'unknown strategy',
      { ...start, config: { ...start.config, strategy: 'bogus' } },
      /^start\.config\.strategy must be one of diverse, uncertainty, random, seed-window, got "bogus"$/
    ],
    [
      'unknown fit',
      { ...start, config: { ...start.config, fit: 'sgd' } },
      /^start\.config\.fit must be one of converge, original, got "sgd"$/
    ],
    [
      'batch size 0',
      { ...start, config: { ...start.config, batchSize: 0 } },
      /^start\.config\.batchSize must be a whole number from 1 to 64, got 0$/
    ],
    [
      'batch size 1e9',
      { ...start, config: { ...start.config, batchSize: 1e9 } },
      /^start\.config\.batchSize must be a whole number from 1 to 64, got 1000000000$/
    ],
    [
      'pool limit null',
      { ...start, config: { ...start.config, poolLimit: null } },
      /^start\.config\.poolLimit must be a whole number from 1 to 100000000, got null$/
    ],
    ['missing task', { ...start, config: { ...start.config, task: undefined } }, /^start\.config\.task is missing$/],
    [
      'answer key missing',
      { ...start, config: { ...start.config, task: { ...start.config.task, positive: { name: 'odd' } } } },
      /^start\.config\.task\.positive\.key is missing$/
    ],
    [
      'pool size as a string',
      { ...start, dataset: { ...start.dataset, poolSize: '100' } },
      /^start\.dataset\.poolSize must be a whole number >= 0, got "100"$/
    ],
    ['empty session id', { ...start, id: '' }, /^start\.id must not be empty$/],
    ['base not an object', { ...start, base: 'cnn' }, /^start\.base must be an object, got "cnn"$/],
    [
      'fewer keys than ids',
      { ...queryEvent(0, [1, 2]), keys: ['a.png'] },
      /^query needs ids, keys, scores and p of the same length, got 2, 1, 2, 2$/
    ],
    ['an empty file key', { ...labelEvent(1), key: '' }, /^label\.key must not be empty$/],
    ['a file key not a string', { ...skipEvent(1), key: 7 }, /^skip\.key must be a text, got 7$/],
    [
      'remap pair of 3',
      { v: 1, type: 'remap', at: start.at, dataset: start.dataset, ids: [[1, 2, 3]], missing: [] },
      /^remap\.ids\[0\]\[2\] is one item too many$/
    ],
    [
      'remap missing without a reason',
      { v: 1, type: 'remap', at: start.at, dataset: start.dataset, ids: [], missing: [{ id: 1, key: 'a.png' }] },
      /^remap\.missing\[0\]\.reason is missing$/
    ]
  ]
  it.each(cases)('rejects %s', (_name, bad, message) => {
    expect(() => validateEvent(bad)).toThrow(message)
  })
})
