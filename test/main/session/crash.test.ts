// Write-ahead safety: a real child process labels continuously (label-writer.ts) and is killed
// with SIGKILL at seeded random moments. After every kill, each label it acknowledged must be
// in the log, and the session must open.
import { Rng } from '../../../src/main/util/rng'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSessionLog, openSessionLog, readSessionLog } from '../../../src/main/session/log'
import { startEvent } from './fixtures'

const KILLS = 50
const here = path.dirname(fileURLToPath(import.meta.url))
const SCRIPT = path.join(here, 'label-writer.ts')
const ROOT = path.resolve(here, '../../..') // so `--import tsx` resolves from the repo

interface Run {
  ready: number | null
  acks: number[]
  signal: NodeJS.Signals | null
  stderr: string
}

/** Runs the writer once and kills it at a moment chosen by `rand`. */
function runAndKill(dir: string, rand: (n: number) => number): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const run: Run = { ready: null, acks: [], signal: null, stderr: '' }
  const kill = (): void => {
    child.kill('SIGKILL')
  }
  // Three kinds of moment: some ms into labelling, right after the n-th ACK, or any time
  // from spawn (often during start-up or while the log is being opened and repaired).
  const mode = rand(10)
  const afterReadyMs = rand(80)
  const afterAcks = 1 + rand(150)
  if (mode === 0) setTimeout(kill, rand(700))
  let buf = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    buf += chunk
    let nl: number
    // Only whole lines count: a cut-off "ACK 1" may have been "ACK 12".
    while ((nl = buf.indexOf('\n')) >= 0) {
      const [word, num] = buf.slice(0, nl).split(' ')
      buf = buf.slice(nl + 1)
      if (word === 'READY') {
        run.ready = Number(num)
        if (mode >= 1 && mode <= 6) setTimeout(kill, afterReadyMs)
      } else if (word === 'ACK') {
        run.acks.push(Number(num))
        if (mode > 6 && run.acks.length === afterAcks) kill()
      }
    }
  })
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()))
  // A safety net so a writer that stalls cannot hang the test.
  const guard = setTimeout(kill, 5000)
  return new Promise((resolve) => {
    child.on('close', (_code, signal) => {
      clearTimeout(guard)
      run.signal = signal
      resolve(run)
    })
  })
}

let dir: string
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'curator-crash-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

it(`keeps every acknowledged label through ${KILLS} SIGKILLs`, async () => {
  const rng = new Rng(20250101)
  const rand = (n: number) => rng.int(n)
  const log = await createSessionLog(dir, startEvent())
  await log.close()
  const acked = new Set<number>()
  let labelsInLog = 0
  let truncated = 0
  for (let k = 0; k < KILLS; k++) {
    const run = await runAndKill(dir, rand)
    expect(run.signal, `kill ${k}: the writer died on its own: ${run.stderr}`).toBe('SIGKILL')
    // The writer continues from the last label it found, so ids never repeat.
    if (run.ready !== null) expect(run.ready, `kill ${k}`).toBe(labelsInLog)
    for (const id of run.acks) acked.add(id)

    const r = await readSessionLog(dir)
    if (r.truncatedTail) truncated++
    const ids = r.events.flatMap((e) => (e.type === 'label' ? [e.id] : []))
    // Appends are serialised and SIGKILL keeps what was written, so the ids are exactly 0..n-1.
    expect(ids, `kill ${k}`).toEqual(ids.map((_, i) => i))
    for (const id of acked) expect(ids.includes(id), `kill ${k}: acknowledged label ${id} missing`).toBe(true)
    labelsInLog = ids.length

    const opened = await openSessionLog(dir)
    expect(opened.events).toEqual(r.events)
    await opened.log.close()
  }
  console.log(`crash test: ${KILLS} kills, ${acked.size} acknowledged labels, ${labelsInLog} in the log, ${truncated} truncated tails`)
  expect(acked.size).toBeGreaterThan(KILLS) // the writer really was labelling when killed
})
