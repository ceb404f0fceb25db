// The StudioApi over the browser-mode WebSocket: a real server, a real studio on a real engine
// thread, a real ws client. Every method of the contract round-trips; bad payloads get a typed
// BAD_ARGUMENT answer and the connection stays usable.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { cpSync, existsSync, readFileSync } from 'node:fs'
import { inflateRawSync } from 'node:zlib'
import { join } from 'node:path'
import {
  DatasetPreview,
  DEFAULT_CONFIG,
  FolderListing,
  METHODS,
  MethodName,
  MistakesDto,
  PoolPage,
  STRATEGIES,
  WhyDto
} from '../../../src/shared/contract'
import type { AppInfo, ExportResult, ReplayDto, SessionState, SessionSummary, WsResponse } from '../../../src/shared/contract'
import { ERROR_CODES } from '../../../src/shared/errors'
import type { Progress } from '../../../src/shared/progress'
import { serve, RunningServer } from '../../../src/main/server/server'
import { fakeRenderer, startTestStudio, testConfig, TestStudio } from '../../helpers/studio'
import { WsClient } from './ws-client'
import { EXPORT_FILES } from '../export/cli'

let ts: TestStudio
let server: RunningServer
let renderer: { dir: string; remove: () => void }
let client: WsClient

beforeAll(async () => {
  ts = await startTestStudio()
  renderer = fakeRenderer()
  server = await serve({ studio: ts.studio, rendererDir: renderer.dir, files: { exports: join(ts.dataDir, 'exports') } })
  client = await WsClient.connect(server.port, server.token)
})
afterAll(async () => {
  await client?.close()
  await server?.close()
  await ts?.close()
  renderer?.remove()
})

/** Through JSON, as every transport carries it. */
const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x))
/** A state without its random baseline, which the studio extends on its own after each fit. */
const settled = (s: SessionState | null) => (s ? { ...s, baseline: [] } : s)

const expectBad = (r: WsResponse, re: RegExp, id?: number) => {
  expect(r.ok, JSON.stringify(r)).toBe(false)
  if (r.ok) return
  expect(r.error.code).toBe('BAD_ARGUMENT')
  expect(r.error.message).toMatch(re)
  if (id !== undefined) expect(r.id).toBe(id)
}

describe('every method of the contract over the WebSocket', () => {
  const called = new Set<MethodName>()
  const call = async <T>(method: MethodName, ...args: unknown[]): Promise<T> => {
    called.add(method)
    return client.call<T>(method, ...args)
  }
  let state: SessionState
  let sessionDir: string

  it('info, listSessions, state, pickFolder and cancel before any session', async () => {
    const info = await call<AppInfo>('info')
    expect(info).toEqual(wire(await ts.studio.info()))
    expect(info).toMatchObject({
      version: 'test',
      desktop: false,
      dataDir: ts.dataDir,
      defaults: DEFAULT_CONFIG,
      strategies: [...STRATEGIES]
    })
    expect(info.base.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    expect(info.backend).toMatch(/^(tensorflow|wasm|cpu)$/)
    expect(await call('listSessions')).toEqual([])
    expect(await call('state')).toBeNull()
    // Browser mode has no native dialogs.
    for (const purpose of ['dataset', 'session', 'export']) expect(await call('pickFolder', purpose)).toBeNull()
    const cancelled = await client.request('cancel', ['featurize pool'])
    called.add('cancel')
    expect(cancelled).toMatchObject({ ok: true })
  })

  it('newSession returns the state (and progress events stream while the pool is featurized)', async () => {
    const from = client.events.length
    state = await call<SessionState>('newSession', testConfig())
    sessionDir = state.dir
    expect(settled(state)).toEqual(settled(wire(await ts.studio.state())))
    expect(state.history).toHaveLength(1)
    expect(state.queue).toHaveLength(4)
    for (const q of state.queue) expect(Buffer.from(q.pixelsBase64, 'base64').length).toBe(784)
    // This file's feature cache starts empty, so featurizing reported its progress.
    const progress = await client.event<Progress>('progress', (p) => p.done === p.total, from)
    expect(progress.task).toMatch(/featuri[sz]e/)
    expect(progress.total).toBeGreaterThan(0)
  })

  it('label resolves with the count, and the session event arrives over the socket once the batch is complete', async () => {
    const from = client.events.length
    for (const [k, q] of state.queue.entries()) expect(await call('label', q.id, k % 2, 200 + k)).toEqual({ labels: k + 1 })
    const pushed = await client.event<SessionState>('session', (s) => s.history.length === 2, from)
    expect(pushed.history[1]).toMatchObject({ iteration: 1, labels: 4 })
    expect(pushed.labels.map((l) => l.id)).toEqual(state.queue.map((q) => q.id))
    expect(pushed.queue).toHaveLength(4)
    expect(settled(pushed)).toEqual(settled(wire(await ts.studio.state())))
    state = pushed
  })

  it('skip, undo and state', async () => {
    expect(await call('skip', state.queue[0].id)).toEqual({ skipped: 1 })
    const s = await call<SessionState>('state')
    expect(s.skipped).toEqual([state.queue[0].id])
    expect(s.queue.map((q) => q.id)).toEqual(state.queue.slice(1).map((q) => q.id))
    const undone = await call<SessionState>('undo')
    expect(undone.skipped).toEqual([])
    expect(undone.queue).toEqual(state.queue)
    expect(settled(await call('state'))).toEqual(settled(undone))
  })

  it('replay returns every iteration with the images asked and the answers given', async () => {
    const r = await call<ReplayDto>('replay', sessionDir)
    expect(r).toEqual(wire(await ts.studio.replay(sessionDir)))
    expect(r.session).toMatchObject({ id: state.id, dir: sessionDir, labels: 4 })
    expect(r.config).toEqual(testConfig())
    expect(r.steps.map((s) => s.iteration)).toEqual(state.history)
    expect(r.steps[0].asked).toEqual([])
    expect(r.steps[1].asked.map((a) => [a.id, a.answer])).toEqual(state.labels.map((l) => [l.id, l.value]))
    for (const a of r.steps[1].asked) expect(Buffer.from(a.pixelsBase64, 'base64').length).toBe(784)
    // Replaying the open session leaves it open.
    expect(settled(await call('state'))).toEqual(settled(wire(await ts.studio.state())))
  })

  it('exportModel writes the folder, refuses to overwrite without force, replaces with force', async () => {
    const out = join(ts.root, 'ws-export')
    const r = await call<ExportResult>('exportModel', out)
    expect(r.dir).toBe(out)
    expect(r.files).toEqual(EXPORT_FILES)
    expect(existsSync(join(out, 'model.json'))).toBe(true)
    const again = await client.request('exportModel', [out])
    expect(again).toMatchObject({ ok: false, error: { code: 'EXISTS' } })
    expect(await call<ExportResult>('exportModel', out, true)).toEqual(r)
    // No path: the default folder under the data folder.
    const served = await call<ExportResult>('exportModel', null, false, true)
    expect(served.files).toEqual([...EXPORT_FILES, 'images'].sort())
    expect(served.dir).toBe(join(ts.dataDir, 'exports', state.id))
    // Browser mode offers that folder as one download: a zip of its files.
    expect(r.downloadUrl).toBeUndefined() // outside the served exports folder: no link
    expect(served.downloadUrl).toMatch(new RegExp(`^/files/exports/${state.id}\\.zip\\?token=`))
    const res = await fetch(new URL(served.downloadUrl!, server.url))
    expect(res.headers.get('content-type')).toBe('application/zip')
    const zip = Buffer.from(await res.arrayBuffer())
    expect(zip.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]))
    for (const f of served.files.filter((f) => f !== 'images')) expect(zip.includes(Buffer.from(`${state.id}/${f}`))).toBe(true)
    // The labelled images too, under images/<answer>/.
    const rows = readFileSync(join(served.dir, 'labels.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { label: string; key: string })
    expect(rows.length).toBeGreaterThan(0)
    for (const row of rows) expect(zip.includes(Buffer.from(`${state.id}/images/${row.label}/${row.key}.png`))).toBe(true)
    // The first entry (README.md, names are sorted) inflates back to the file on disk.
    const nameLength = zip.readUInt16LE(26)
    const packed = zip.subarray(30 + nameLength, 30 + nameLength + zip.readUInt32LE(18))
    expect(inflateRawSync(packed).toString('utf8')).toBe(readFileSync(join(served.dir, 'README.md'), 'utf8'))
    // Without the token: refused.
    expect((await fetch(new URL(served.downloadUrl!.replace(/\?token=.*/, ''), server.url))).status).toBe(403)
  })

  it('exportGif answers with a result or a typed error, never a dropped connection', async () => {
    const r = await client.request('exportGif', [sessionDir, join(ts.root, 'replay.gif')])
    called.add('exportGif')
    if (r.ok) {
      expect((r.result as ExportResult).files.length).toBeGreaterThan(0)
    } else {
      expect(ERROR_CODES).toContain(r.error.code)
      expect(r.error.message.length).toBeGreaterThan(0)
    }
    expect(client.open).toBe(true)
    expect(await call('state')).not.toBeNull()
  })

  it('openSession restores the session it was given, and listSessions lists it', async () => {
    const before = await call<SessionState>('state')
    const list = await call<SessionSummary[]>('listSessions')
    expect(list).toEqual(wire(await ts.studio.listSessions()))
    expect(list.map((s) => s.dir)).toContain(sessionDir)
    const opened = await call<SessionState>('openSession', sessionDir)
    expect({ ...opened, warnings: [] }).toEqual({ ...before, warnings: [] })
    await expect(client.call('openSession', join(ts.root, 'no-such-session'))).rejects.toMatchObject({ dto: { code: 'NOT_FOUND' } })
    // (Whether a failed open keeps the current session is checked in the studio tests.)
    await call('openSession', sessionDir)
  })

  it('pretrainBase trains a new base (pretrain progress streams) and info reports it', async () => {
    const from = client.events.length
    const r = await call<{ dir: string; testAccuracy: number; hash: string }>('pretrainBase', { epochs: 1, seed: 3, limit: 128 })
    expect(r.dir.startsWith(join(ts.dataDir, 'models'))).toBe(true)
    expect(existsSync(join(r.dir, 'model.json'))).toBe(true)
    expect(await client.event<Progress>('progress', (p) => p.task === 'pretrain' && p.done === p.total, from)).toMatchObject({ total: 128 })
    expect((await call<AppInfo>('info')).base).toMatchObject({ hash: r.hash, testAccuracy: r.testAccuracy })
  })

  it("mistakes answers with the held-out confusion matrix and a cell's images", async () => {
    const m = await call<MistakesDto>('mistakes', { truth: 1, predicted: 1 }, 3)
    expect(m.confusion.flat().reduce((a, b) => a + b, 0)).toBe(200)
    expect(m.items.length).toBe(Math.min(3, m.confusion[1][1]))
    expect(m.cell).toEqual({ truth: 1, predicted: 1 })
    expect(await call<MistakesDto>('mistakes', null, null)).toMatchObject({ cell: null, items: [] })
  })

  it('pool pages the pool; choose answers an image from it as a chosen query', async () => {
    const page = await call<PoolPage>('pool', { sort: 'uncertainty', filter: 'unanswered', offset: 0, limit: 3 })
    expect(page.items).toHaveLength(3)
    const before = await call<SessionState>('state')
    const after = await call<SessionState>('choose', page.items[2].id, 1, 120)
    expect(after.history).toHaveLength(before.history.length + 1)
    expect(after.labels.at(-1)).toMatchObject({ id: page.items[2].id, value: 1, responseMs: 120 })
  })

  it('inspectDataset says what a dataset holds before Start, or why Start would refuse it', async () => {
    expect(await call<DatasetPreview>('inspectDataset', 'mnist')).toMatchObject({ kind: 'mnist', images: 70000 })
    await expect(client.call('inspectDataset', `folder:${join(ts.root, 'no-such-folder')}`)).rejects.toMatchObject({
      dto: { code: 'NOT_FOUND' }
    })
  })

  it('listFolders lists the subfolders of a folder (names only)', async () => {
    const l = await call<FolderListing>('listFolders', ts.root)
    expect(l).toMatchObject({ path: ts.root, truncated: false })
    expect(l.folders).toContain('data')
    await expect(client.call('listFolders', 'relative/path')).rejects.toMatchObject({ dto: { code: 'BAD_ARGUMENT' } })
  })

  it('why says why an answered image was asked; an image still waiting is refused', async () => {
    const last = await call<WhyDto>('why', null)
    const s = await call<SessionState>('state')
    expect(last.id).toBe(s.labels.at(-1)!.id)
    expect(last.reason).toMatchObject({ kind: 'chosen', strategy: 'chosen' })
    expect(await call<WhyDto>('why', last.previous)).toMatchObject({ next: last.id })
    await expect(client.call('why', s.queue[0].id)).rejects.toMatchObject({ dto: { code: 'BAD_ARGUMENT' } })
  })

  it('chooseBase makes a model folder the base of new sessions (null: the shipped one) and says why a folder is not one', async () => {
    const shipped = (await call<AppInfo>('info')).base // the base retrained above
    const copy = join(ts.root, 'my base')
    cpSync(shipped.dir, copy, { recursive: true })
    const chosen = await call<AppInfo['base']>('chooseBase', copy, { name: 'the same digits' })
    expect(chosen).toMatchObject({ id: 'the same digits', hash: shipped.hash, featureLayer: 'classes' })
    await expect(client.call('chooseBase', join(ts.root, 'no-model-here'))).rejects.toMatchObject({ dto: { code: 'NOT_FOUND' } })
    expect((await call<AppInfo>('info')).base.id).toBe('the same digits')
    expect(JSON.parse(readFileSync(join(copy, 'curator-base.json'), 'utf8'))).toEqual({ name: 'the same digits' })
    // null: back to the default base (here the test's digit CNN, CURATOR_BASE_MODEL).
    expect(await call<AppInfo['base']>('chooseBase', null)).toMatchObject({ id: 'test-digits-cnn', featureLayer: 'classes', custom: false })
  })

  it('relabel changes an earlier answer and refits; images returns pool images by id', async () => {
    const before = await call<SessionState>('state')
    const old = before.labels[0]
    const after = await call<SessionState>('relabel', old.id, 1 - old.value)
    expect(after.labels.find((l) => l.id === old.id)).toMatchObject({ value: 1 - old.value, relabelled: true })
    expect(after.history).toHaveLength(before.history.length)
    expect(after.history.at(-1)!.headWeights).not.toEqual(before.history.at(-1)!.headWeights)
    await expect(client.call('relabel', 59999, 1)).rejects.toMatchObject({ dto: { code: 'BAD_ARGUMENT' } })
    const imgs = await call<{ id: number; pixelsBase64: string }[]>('images', [old.id, before.labels[1].id])
    expect(imgs.map((i) => i.id)).toEqual([old.id, before.labels[1].id])
    for (const i of imgs) expect(Buffer.from(i.pixelsBase64, 'base64').length).toBe(784)
    expectBad(await client.request('images', [[-1]]), /^image ids\[0\] /)
  })

  it('covered every method in METHODS', () => {
    expect([...called].sort()).toEqual([...METHODS].sort())
  })
})

describe('events reach every connected client', () => {
  it('a second client gets the same session event', async () => {
    const other = await WsClient.connect(server.port, server.token)
    try {
      const s = await client.call<SessionState>('state')
      const fromA = client.events.length
      const fromB = other.events.length
      for (const q of s.queue) await client.call('label', q.id, 1, 50)
      const a = await client.event<SessionState>('session', (x) => x.history.length === s.history.length + 1, fromA)
      const b = await other.event<SessionState>('session', (x) => x.history.length === s.history.length + 1, fromB)
      expect(b).toEqual(a)
    } finally {
      await other.close()
    }
    // Its listener went away with it; the first client is unaffected.
    expect(await client.call('state')).not.toBeNull()
  })
})

describe('malformed payloads get BAD_ARGUMENT and the connection stays usable', () => {
  let s: SessionState
  let logLines: number
  const lines = async () => (await import('node:fs')).readFileSync(join(s.dir, 'session.jsonl'), 'utf8').split('\n').filter(Boolean).length

  beforeAll(async () => {
    s = await client.call<SessionState>('newSession', testConfig())
    logLines = await lines()
  })

  it('text that is not JSON', async () => {
    expectBad(await client.sendRaw('this is not json'), /not valid JSON/, -1)
    expectBad(await client.sendRaw('{"id": 3, "method": "info", "args": ['), /not valid JSON/, -1)
  })

  it('JSON that is not a request', async () => {
    expectBad(await client.sendRaw('null'), /^method must be a Studio method, got /, -1)
    expectBad(await client.sendRaw('42'), /^method must be a Studio method, got /, -1)
    expectBad(await client.sendRaw('{"id": 7}', 7), /^method must be a Studio method, got nothing$/, 7)
    expectBad(await client.sendRaw('{"id": 8, "method": "info"}', 8), /^info\(\) must be a list of arguments, got nothing$/, 8)
  })

  it('an unknown method, or a name from the prototype chain', async () => {
    for (const m of ['nope', 'constructor', '__proto__', 'toString', 'close', 'emit', 'on', 'serial'])
      expectBad(await client.request(m, []), /^method must be a Studio method, got "/)
  })

  it('arguments that are not a list, or too many', async () => {
    expectBad(await client.request('info', {}), /^info\(\) must be a list of arguments, got an object$/)
    expectBad(await client.request('state', 'x'), /must be a list of arguments/)
    expectBad(await client.request('info', [1]), /^info\(\) takes 0 arguments, got 1$/)
    expectBad(await client.request('label', [s.queue[0].id, 1, 10, 'extra']), /^label\(\) takes 3 arguments, got 4$/)
  })

  it('bad label, skip and undo arguments', async () => {
    const id = s.queue[0].id
    expectBad(await client.request('label', ['x', 1, 10]), /^image id must be a whole number from 0 to 2147483647, got "x"$/)
    expectBad(await client.request('label', [1.5, 1, 10]), /image id/)
    expectBad(await client.request('label', [-1, 1, 10]), /image id/)
    expectBad(await client.request('label', [id, 2, 10]), /^label must be 0 or 1, got 2$/)
    expectBad(await client.request('label', [id, '1', 10]), /^label must be 0 or 1, got /)
    expectBad(await client.request('label', [id, true, 10]), /^label must be 0 or 1, got /)
    expectBad(await client.request('label', [id, 1, -5]), /responseMs/)
    expectBad(await client.request('label', [id, 1, 'fast']), /responseMs/)
    expectBad(await client.request('label', [id, 1, null]), /responseMs/)
    expectBad(await client.request('label', [id, 1]), /^responseMs is missing$/)
    expectBad(await client.request('skip', ['7']), /image id/)
    expectBad(await client.request('undo', [1]), /takes 0 arguments/)
    // Valid in form, but not waiting: the studio's own BAD_ARGUMENT.
    const outside = [...Array(800).keys()].find((k) => !s.queue.some((q) => q.id === k))!
    expectBad(await client.request('label', [outside, 1, 10]), /not waiting for an answer/)
  })

  it('bad session configs', async () => {
    const cfg = testConfig()
    const { task: _task, ...noTask } = cfg
    expectBad(
      await client.request('newSession', [{ ...cfg, strategy: 'nope' }]),
      /^config\.strategy must be one of diverse, uncertainty, random, seed-window, got "nope"$/
    )
    expectBad(
      await client.request('newSession', [{ ...cfg, batchSize: 0 }]),
      /^config\.batchSize must be a whole number from 1 to 64, got 0$/
    )
    expectBad(await client.request('newSession', [{ ...cfg, batchSize: 2.5 }]), /config\.batchSize/)
    expectBad(await client.request('newSession', [noTask]), /^config\.task is missing$/)
    expectBad(await client.request('newSession', [{ ...cfg, fit: 'fast' }]), /config\.fit/)
    expectBad(await client.request('newSession', [{ ...cfg, unfreeze: 9 }]), /config\.unfreeze/)
    expectBad(await client.request('newSession', [{ ...cfg, seed: -1 }]), /config\.seed/)
    expectBad(await client.request('newSession', [{ ...cfg, dataset: '' }]), /config\.dataset/)
    expectBad(await client.request('newSession', [{ ...cfg, poolLimit: 0 }]), /config\.poolLimit/)
    expectBad(
      await client.request('newSession', [{ ...cfg, task: { ...cfg.task, positive: { name: 'odd', key: 'e' } } }]),
      /^config\.task\.positive\.key must differ from the negative answer’s key$/
    )
    expectBad(
      await client.request('newSession', [{ ...cfg, task: { ...cfg.task, negative: { name: 'even', key: 'ee' } } }]),
      /config\.task\.negative\.key/
    )
    expectBad(await client.request('newSession', [{ ...cfg, task: { ...cfg.task, positiveClasses: 'odd' } }]), /positiveClasses/)
    expectBad(await client.request('newSession', []), /^config is missing$/)
    expectBad(await client.request('newSession', [[cfg]]), /^config must be an object, got a list$/)
  })

  it('bad folder, export, picker and cancel arguments', async () => {
    expectBad(await client.request('openSession', ['']), /session folder/)
    expectBad(await client.request('openSession', [42]), /session folder/)
    expectBad(await client.request('replay', [null]), /session folder/)
    expectBad(await client.request('exportModel', [42]), /output folder/)
    expectBad(await client.request('exportModel', [join(ts.root, 'x'), 'yes']), /^force must be true or false, got "yes"$/)
    expectBad(await client.request('exportModel', [join(ts.root, 'x'), false, 1]), /^withImages must be true or false, got 1$/)
    expectBad(await client.request('exportGif', []), /session folder/)
    expectBad(await client.request('pickFolder', ['desktop']), /^purpose must be one of dataset, session, export, base, got "desktop"$/)
    expectBad(await client.request('cancel', []), /^task is missing$/)
    expectBad(await client.request('cancel', ['x'.repeat(201)]), /task/)
    expectBad(await client.request('pretrainBase', []), /^options is missing$/)
    expectBad(await client.request('chooseBase', [7]), /^base model folder /)
    expectBad(await client.request('chooseBase', ['/tmp', { input: { fit: 'sideways' } }]), /^base spec\.input\.fit /)
    expectBad(
      await client.request('pretrainBase', [{ epochs: 0, seed: 1 }]),
      /^options\.epochs must be a whole number from 1 to 50, got 0$/
    )
    expectBad(await client.request('pretrainBase', [{ epochs: 51, seed: 1 }]), /epochs/)
    expectBad(await client.request('pretrainBase', [{ epochs: 1, seed: -1 }]), /seed/)
    expectBad(
      await client.request('pretrainBase', [{ epochs: 1, seed: 1, limit: 127 }]),
      /^options\.limit must be a whole number from 128 to 60000, got 127$/
    )
    expectBad(await client.request('pretrainBase', [{ epochs: 1, seed: 1, limit: 60001 }]), /limit/)
    expectBad(await client.request('mistakes', [{ truth: 2, predicted: 0 }]), /cell/)
    expectBad(await client.request('mistakes', [{ className: '' }]), /cell/)
    expectBad(await client.request('mistakes', [null, 0]), /^limit must be a whole number from 1 to 2000, got 0$/)
    expectBad(
      await client.request('pool', [{ sort: 'size', filter: 'all', offset: 0, limit: 10 }]),
      /sort must be one of p, uncertainty, class/
    )
    expectBad(await client.request('pool', [{ sort: 'p', filter: 'all', offset: -1, limit: 10 }]), /offset/)
    expectBad(await client.request('choose', [1, 2, 0]), /label must be 0 or 1/)
    expectBad(await client.request('inspectDataset', ['  ']), /^dataset must not be empty$/)
    expectBad(await client.request('inspectDataset', ['x'.repeat(4097)]), /^dataset must be at most 4096 characters, got 4097$/)
    expectBad(await client.request('listFolders', ['/' + 'x'.repeat(4096)]), /^folder must be at most 4096 characters, got 4097$/)
    expectBad(await client.request('listFolders', [7]), /^folder must be a text, got 7$/)
    expectBad(await client.request('why', [-1]), /^image id must be a whole number from 0 to 2147483647, got -1$/)
  })

  it('afterwards the connection works and nothing reached the session', async () => {
    expect(client.open).toBe(true)
    const now = await client.call<SessionState>('state')
    expect(now.id).toBe(s.id)
    expect(now.queue).toEqual(s.queue)
    expect(now.labels).toEqual([])
    expect(await lines()).toBe(logLines)
    expect(await client.call('label', s.queue[0].id, 1, 10)).toEqual({ labels: 1 })
  })
})
