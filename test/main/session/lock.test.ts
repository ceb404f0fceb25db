// One writer per session. Two real processes label one session at once: one writes, the other
// is told who holds it and writes nothing; every acknowledged label is in the log. A writer
// killed with SIGKILL leaves a stale lock that the next opener recovers. Many processes racing
// for one stale lock: exactly one wins. The studio opens a held session read-only (answers
// refused, replay and export work), in-process and through `curator serve --session`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSessionLog, logPath, openSessionLog, readSessionLog } from '../../../src/main/session/log'
import { LOCK_FILE } from '../../../src/main/session/lock'
import type { SessionState } from '../../../src/shared/contract'
import { startTestStudio, testBaseModel, testConfig, TestStudio } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { cliEnv, finished, startCli } from '../export/cli'
import { WsClient } from '../server/ws-client'
import { startEvent, labelEvent } from './fixtures'

const here = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(here, '../../..')
const WRITER = join(here, 'label-writer.ts')

let tmp: { dir: string; remove: () => void }
beforeAll(() => {
  tmp = tempDir('curator-lock-')
})
afterAll(() => tmp?.remove())

interface Writer {
  acked: number[]
  kill(): void
  /** Resolves when the child has exited. */
  done: Promise<{ code: number | null; stderr: string }>
}

/** A label-writer child, labelling until killed (or refused). */
function writer(dir: string): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const acked: number[] = []
  let stderr = ''
  let buf = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (c: string) => {
    buf += c
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const [word, num] = buf.slice(0, nl).split(' ')
      buf = buf.slice(nl + 1)
      if (word === 'ACK') acked.push(Number(num))
    }
  })
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const done = new Promise<{ code: number | null; stderr: string }>((ok) =>
    child.once('close', (code) => (clearTimeout(guard), ok({ code, stderr })))
  )
  return { acked, kill: () => child.kill('SIGKILL'), done }
}

const until = async (test: () => boolean): Promise<void> => {
  for (let i = 0; i < 6000 && !test(); i++) await new Promise((ok) => setTimeout(ok, 10))
}

/** Starts n writers at once; once all but one have exited and the last has `acks` labels, kills it. */
async function race(dir: string, n: number, acks: number): Promise<{ acked: number[]; code: number | null; stderr: string }[]> {
  const ws = Array.from({ length: n }, () => writer(dir))
  let exited = 0
  ws.forEach((w) => void w.done.then(() => exited++))
  await until(() => exited >= n - 1 && ws.some((w) => w.acked.length >= acks))
  ws.forEach((w) => w.kill())
  return Promise.all(ws.map(async (w) => ({ acked: w.acked, ...(await w.done) })))
}

describe('the session lock between processes', () => {
  it('two processes labelling one session: one writes, the other is refused and names the holder; nothing acknowledged is lost', async () => {
    const rounds = 4
    let refused = 0
    for (let r = 0; r < rounds; r++) {
      const dir = join(tmp.dir, `two-${r}`)
      await (await createSessionLog(dir, startEvent())).close()
      const [a, b] = await race(dir, 2, 120)
      const winners = [a, b].filter((w) => w.acked.length > 0)
      const losers = [a, b].filter((w) => w.acked.length === 0)
      expect(winners, `round ${r}: ${a.stderr} ${b.stderr}`).toHaveLength(1)
      expect(losers[0].code).toBe(1)
      expect(losers[0].stderr).toMatch(new RegExp(`open for writing in another Curator \\(pid \\d+ on host ${hostname()} since `))
      refused++
      const { events, warnings } = await readSessionLog(dir)
      const labels = new Set(events.filter((e) => e.type === 'label').map((e) => (e as { id: number }).id))
      expect(winners[0].acked.every((id) => labels.has(id))).toBe(true)
      expect(warnings.filter((w) => !/incomplete last line/.test(w))).toEqual([])
    }
    console.log(`[lock] ${rounds} rounds of two writers on one session: ${refused} second writers refused, 0 acknowledged labels lost`)
  })

  it('a writer killed with SIGKILL leaves a stale lock that the next opener recovers', async () => {
    const dir = join(tmp.dir, 'stale')
    await (await createSessionLog(dir, startEvent())).close()
    const [first] = await race(dir, 1, 10)
    expect(first.acked.length).toBeGreaterThanOrEqual(10)
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true) // killed: it could not remove it
    const [second] = await race(dir, 1, 10)
    expect(second.acked.length, second.stderr).toBeGreaterThanOrEqual(10)
    const labels = (await readSessionLog(dir)).events.filter((e) => e.type === 'label')
    expect(labels.length).toBeGreaterThanOrEqual(first.acked.length + second.acked.length)
  })

  it('a lock left by a reused pid (our own, without our nonce) or by a dead pid is stale; one from another host is not', async () => {
    const dir = join(tmp.dir, 'foreign')
    await (await createSessionLog(dir, startEvent())).close()
    const lock = (o: object) => writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ at: 'then', app: 'curator old', nonce: 'n', ...o }))
    lock({ pid: process.pid, host: hostname() })
    let opened = await openSessionLog(dir)
    expect(opened.log.lockedBy).toBeUndefined()
    await opened.log.close()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
    lock({ pid: 2 ** 22 + 12345, host: hostname() })
    opened = await openSessionLog(dir)
    expect(opened.log.lockedBy).toBeUndefined()
    await opened.log.close()
    lock({ pid: 1, host: 'another-machine' })
    const before = readFileSync(logPath(dir))
    opened = await openSessionLog(dir)
    expect(opened.log.lockedBy?.host).toBe('another-machine')
    await expectCuratorErrorAsync(() => opened.log.append(labelEvent(1)), 'FORBIDDEN', /pid 1 on host another-machine/)
    await opened.log.close()
    expect(readFileSync(logPath(dir))).toEqual(before)
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true) // not ours to remove
  })

  it('a lock still being written (created, its line not yet in) is read once its writer is done: the holder is named', async () => {
    const dir = join(tmp.dir, 'being-written')
    await (await createSessionLog(dir, startEvent())).close()
    const file = join(dir, LOCK_FILE)
    writeFileSync(file, '')
    const owner = JSON.stringify({ pid: 1, host: 'another-machine', at: 'now', app: 'curator other', nonce: 'n' })
    // Another process writes it as soon as it has started, while this one waits in its (synchronous) read.
    const writer = spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(file)}, ${JSON.stringify(owner)})`])
    const exited = new Promise((r) => writer.once('exit', r))
    await new Promise((r) => writer.once('spawn', r))
    const opened = await openSessionLog(dir)
    await exited
    expect(opened.log.lockedBy).toMatchObject({ pid: 1, host: 'another-machine' })
    await opened.log.close()
  })

  it('eight processes racing for one stale lock: exactly one wins', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = join(tmp.dir, `race-${round}`)
      await (await createSessionLog(dir, startEvent())).close()
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 999, host: hostname(), at: 'then', app: 'x', nonce: 'dead' }))
      const results = await race(dir, 8, 5)
      expect(
        results.filter((w) => w.acked.length > 0),
        results.map((w) => w.stderr).join('\n')
      ).toHaveLength(1)
    }
  })
})

describe('the studio on a session another process holds', () => {
  let a: TestStudio
  let b: TestStudio
  let s: SessionState

  beforeAll(async () => {
    a = await startTestStudio()
    b = await startTestStudio({ dataDir: join(tmp.dir, 'b-data') })
    s = await a.studio.newSession(testConfig({ batchSize: 2 }))
    for (const q of s.queue) await a.studio.label(q.id, 1, 100)
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
  })

  it('opens it read-only: says who holds it, refuses answers, writes nothing; replay and export work', async () => {
    await a.studio.state() // the fit after the last answer is written
    const before = readFileSync(logPath(s.dir))
    const ro = await b.studio.openSession(s.dir)
    expect(ro.warnings[0]).toMatch(
      new RegExp(`^Read-only: pid ${process.pid} on host ${hostname()} since .* has this session open for writing`)
    )
    const waiting = ro.queue[0]
    expect(waiting).toBeDefined()
    await expectCuratorErrorAsync(() => b.studio.label(waiting.id, 0, 10), 'FORBIDDEN', /open for writing in another Curator/)
    await expectCuratorErrorAsync(() => b.studio.skip(waiting.id), 'FORBIDDEN', /open for writing/)
    await expectCuratorErrorAsync(() => b.studio.undo(), 'FORBIDDEN', /open for writing/)
    expect((await b.studio.replay(s.dir)).steps.length).toBeGreaterThan(0)
    const out = join(tmp.dir, 'ro-export')
    await b.studio.exportModel(out)
    expect(existsSync(join(out, 'model.json'))).toBe(true)
    expect(readFileSync(logPath(s.dir))).toEqual(before)
    // The writer is unaffected.
    const now = await a.studio.state()
    expect((await a.studio.label(now!.queue[0].id, 0, 50)).labels).toBe(now!.labels.length + 1)
  })

  it('while `curator serve --session DIR` holds it in another process, it opens here read-only; after SIGKILL the lock is recovered', async () => {
    await a.studio.close() // a lets go: the child takes the session
    const env = { ...cliEnv(await testBaseModel(), a.cacheDir) }
    const data = join(tmp.dir, 'serve-data')
    mkdirSync(data, { recursive: true })
    const child = startCli(['serve', '--session', s.dir, '--data-dir', data, '--port', '0'], env)
    const run = finished(child)
    let out = ''
    const url = await new Promise<URL>((ok, fail) => {
      child.stdout!.on('data', (d) => {
        out += d
        const m = /ready at (\S+)/.exec(out)
        if (m) ok(new URL(m[1]))
      })
      child.once('exit', (code) => fail(new Error(`serve exited ${code}`)))
    })
    try {
      // The child writes; this process is now the second opener.
      const c = await WsClient.connect(Number(url.port), url.searchParams.get('token')!)
      const child1 = await c.call<SessionState>('state')
      expect(child1.warnings.some((w) => w.startsWith('Read-only'))).toBe(false)
      const labelled = await c.call<{ labels: number }>('label', child1.queue[0].id, 1, 10)
      expect(labelled.labels).toBe(child1.labels.length + 1)
      await c.close()
      await b.studio.close()
      const ro = await b.studio.openSession(s.dir)
      expect(ro.warnings[0]).toMatch(new RegExp(`^Read-only: pid ${child.pid} on host`))
      await expectCuratorErrorAsync(() => b.studio.label(ro.queue[0].id, 0, 10), 'FORBIDDEN', new RegExp(`pid ${child.pid}`))
    } finally {
      child.kill('SIGKILL')
      await run
    }
    await b.studio.close()
    const rw = await b.studio.openSession(s.dir)
    expect(rw.warnings.some((w) => w.startsWith('Read-only'))).toBe(false)
    expect((await b.studio.label(rw.queue[0].id, 0, 10)).labels).toBe(rw.labels.length + 1)
  })
})
