// Child process for disk-full.test.ts, run inside a private mount namespace on a small tmpfs
// (argv[2]): a real studio writes its sessions there; the disk is filled with a file until
// ENOSPC, then the file is removed again. Prints one JSON line with what it saw.
import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { SessionState } from '../../../src/shared/contract'
import { FORMAT_VERSION } from '../../../src/main/session/events'
import { readSessionLog } from '../../../src/main/session/log'
import { startTestStudio, testConfig } from '../../helpers/studio'

const mnt = process.argv[2]
const filler = join(mnt, 'filler')
const RESPONSE_MS = 1000

/** Fills the disk: writes until ENOSPC, in smaller and smaller pieces, so not one page is left. */
function fill(): void {
  const fd = openSync(filler, 'w')
  try {
    for (const size of [1 << 16, 4096, 1]) {
      const chunk = Buffer.alloc(size, 1)
      try {
        for (;;) writeSync(fd, chunk)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      }
    }
  } finally {
    closeSync(fd)
  }
}

const free = () => rmSync(filler)
const logFile = (s: SessionState) => join(s.dir, 'session.jsonl')
const size = (f: string) => statSync(f).size
/** Bytes the log's last page still holds: a line that fits needs no new space from the disk. */
const room = (f: string) => {
  const { size, blksize } = statSync(f)
  return size % blksize === 0 ? 0 : blksize - (size % blksize)
}
/** The byte length of the label line the studio writes for the first queued image. */
const labelLine = (s: SessionState) => {
  const q = s.queue[0]
  const e = {
    v: FORMAT_VERSION,
    type: 'label',
    at: new Date(0).toISOString(),
    id: q.id,
    key: q.key,
    value: 1,
    iteration: s.history.length - 1,
    responseMs: RESPONSE_MS
  }
  return Buffer.byteLength(JSON.stringify(e)) + 1
}
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: { code?: string }) => err.code ?? String(err)
  )

async function logSummary(dir: string) {
  const log = await readSessionLog(dir)
  return {
    logWarnings: log.warnings,
    logLabels: log.events.filter((e) => e.type === 'label').length,
    logTrains: log.events.filter((e) => e.type === 'train').length
  }
}

async function main(): Promise<void> {
  const t = await startTestStudio({
    dataDir: join(mnt, 'data'),
    ...(process.env.CURATOR_CACHE_DIR ? { cacheDir: process.env.CURATOR_CACHE_DIR } : {})
  })
  const { studio } = t
  const errors: string[] = []
  const sessionEvents: SessionState[] = []
  studio.on((event, payload) => {
    if (event === 'error') errors.push((payload as { code: string }).code)
    if (event === 'session') sessionEvents.push(payload as SessionState)
  })
  const state = async () => (await studio.state())!

  // 1. A label that does not fit on the full disk is refused, and accepted once space is free.
  let s = await studio.newSession(testConfig({ batchSize: 64, seed: 3 }))
  let acked = 0
  // Answer until the next label line needs a new page: on a full disk that write must fail.
  while (room(logFile(s)) >= labelLine(s)) {
    await studio.label(s.queue[0].id, 1, RESPONSE_MS)
    acked++
    s = await state()
  }
  const before = size(logFile(s))
  fill()
  const id = s.queue[0].id
  const full = [await codeOf(studio.label(id, 1, RESPONSE_MS)), await codeOf(studio.label(id, 1, RESPONSE_MS))]
  const fullState = await state()
  const sizeWhileFull = size(logFile(s))
  free()
  const freed = await codeOf(studio.label(id, 1, RESPONSE_MS))
  acked++
  const afterFree = await state()
  await studio.close()
  const labelRun = {
    answeredBeforeFull: acked - 1,
    full,
    writeErrorWhileFull: fullState.writeError?.code ?? null,
    logGrewWhileFull: sizeWhileFull - before,
    freed,
    writeErrorAfterFree: afterFree.writeError,
    labelsInState: afterFree.labels.length,
    ...(await logSummary(s.dir))
  }

  // 2. A label written, then its fit not: the next call (Retry) fits once space is free.
  s = await studio.newSession(testConfig({ batchSize: 1, seed: 4 }))
  acked = 0
  let tries = 0
  // Until the label fits in the log's last page and the fit after it does not (a train line is longer than 300 bytes).
  for (; tries < 300; tries++) {
    const r = room(logFile(s))
    const l = labelLine(s)
    if (r >= l && r < l + 300) break
    await studio.label(s.queue[0].id, 0, RESPONSE_MS)
    acked++
    s = await state()
  }
  fill()
  const label = await codeOf(studio.label(s.queue[0].id, 0, RESPONSE_MS))
  acked++
  const stalled = await state() // retries the fit: still full
  const pushed = sessionEvents.at(-1)!
  free()
  const retried = await state()
  const next = await codeOf(studio.label(retried.queue[0]?.id ?? -1, 1, RESPONSE_MS))
  acked++
  const last = await state()
  await studio.close()
  const fitRun = {
    tries,
    label,
    stalled: {
      writeError: stalled.writeError?.code ?? null,
      queue: stalled.queue.length,
      pushedWriteError: pushed.writeError?.code ?? null
    },
    retried: { writeError: retried.writeError, queue: retried.queue.length, iterations: retried.history.length },
    next,
    acked,
    labelsInState: last.labels.length,
    ...(await logSummary(s.dir))
  }

  await t.close()
  console.log(JSON.stringify({ labelRun, fitRun, errors }))
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`disk-full-child: ${(err as Error).stack}\n`)
    process.exit(1)
  }
)
