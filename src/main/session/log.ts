// The crash-safe session log: an append-only session.jsonl in the session folder.
// Writing: every append is one line, fsynced before it resolves, so an acknowledged label
// survives a crash or kill -9. Reading: never throws for bad content; it keeps every valid
// complete line and reports the rest with line numbers, so a damaged session still opens.
// One writer per folder: opening for writing takes session.lock (lock.ts); a second opener
// gets a read-only log that refuses appends and says who holds the session.
import { promises as fs, constants as fsConstants } from 'node:fs'
import path from 'node:path'
import { CuratorError } from '../../shared/errors'
import type { FileHandle } from 'node:fs/promises'
import { diskError, exists, syncFile, writeAll, writeFileAtomic } from '../files/safe'
import { validateEvent, validateLoggedEvent } from './events'
import { LockOwner, lockSession, SessionLock, SessionLockedError } from './lock'
import { VERSION } from '../version'
import type { SessionEvent, StartEvent } from './events'

export const LOG_FILE = 'session.jsonl'

export interface SessionLog {
  readonly dir: string
  /** Validates the event, writes it as one line and flushes it to disk before resolving. */
  append(event: SessionEvent): Promise<void>
  /** Waits for pending appends, then closes the file and releases the lock. */
  close(): Promise<void>
  /** Set when another process holds the session: this log only refuses appends. */
  readonly lockedBy?: LockOwner
}

export interface ReadResult {
  events: SessionEvent[]
  warnings: string[]
  /** The last line had no newline and did not parse: a crash while it was being written. */
  truncatedTail: boolean
}

export const logPath = (dir: string): string => path.join(dir, LOG_FILE)

/** Creates `dir` (and parents) and a new log whose first line is `start`. Refuses if a log exists. */
export async function createSessionLog(dir: string, start: StartEvent): Promise<SessionLog> {
  if (validateEvent(start).type !== 'start') throw new CuratorError('BAD_ARGUMENT', 'the first event of a session must be a start event')
  const file = logPath(dir)
  await fs.mkdir(dir, { recursive: true })
  if (await exists(file)) throw new CuratorError('EXISTS', `a session log already exists in ${dir}`)
  const lock = lockSession(dir, `curator ${VERSION}`)
  try {
    await writeStart(dir, file, start)
  } catch (err) {
    lock.release()
    throw err
  }
  return openForAppend(dir, lock)
}

async function writeStart(dir: string, file: string, start: StartEvent): Promise<void> {
  // Written whole and linked into place (never replacing a log), so session.jsonl never exists
  // without its start line: a crash here must not leave an unopenable empty log.
  try {
    await writeFileAtomic(file, JSON.stringify(start) + '\n', { replace: 'never' })
  } catch (err) {
    if (err instanceof CuratorError && err.code === 'EXISTS')
      throw new CuratorError('EXISTS', `a session log already exists in ${dir}`, { path: file })
    throw err
  }
}

/** Reads a log. Throws only NOT_FOUND (no log) or BAD_DATA (no valid start as the first valid line). */
export async function readSessionLog(dir: string): Promise<ReadResult> {
  const { events, warnings, truncatedTail } = await scan(dir)
  return { events, warnings, truncatedTail }
}

/**
 * Reads a log, repairs its end so appends start on a fresh line, and opens it for appending.
 * When another process holds the session the log is read as it is, never repaired, and
 * `log.lockedBy` names the holder: its appends are refused.
 */
export async function openSessionLog(dir: string): Promise<{ log: SessionLog; events: SessionEvent[]; warnings: string[] }> {
  const file = logPath(dir)
  if (!(await exists(file))) await scan(dir) // throws the reader's NOT_FOUND
  // Lock first, then read: what we read is then what no one else appends to.
  let lock: SessionLock
  try {
    lock = lockSession(dir, `curator ${VERSION}`)
  } catch (err) {
    if (!(err instanceof SessionLockedError)) throw err
    const s = await scan(dir)
    return { log: readOnlyLog(dir, err), events: s.events, warnings: s.warnings }
  }
  try {
    return await repairAndOpen(dir, file, await scan(dir), lock)
  } catch (err) {
    lock.release()
    throw err
  }
}

async function repairAndOpen(
  dir: string,
  file: string,
  s: Scan,
  lock: SessionLock
): Promise<{ log: SessionLog; events: SessionEvent[]; warnings: string[] }> {
  if (s.truncatedTail) {
    // Keep the damaged original for inspection before cutting anything off.
    const backup = await backupCopy(file)
    s.warnings.push(`the incomplete last line was removed; the original file was saved as ${path.basename(backup)}`)
  }
  if (s.truncatedTail || s.needsNewline) {
    const fh = await fs.open(file, 'a')
    try {
      if (s.truncatedTail) await fh.truncate(s.keepBytes)
      if (s.needsNewline) await writeAll(fh, Buffer.from('\n'))
      await fh.sync()
    } finally {
      await fh.close()
    }
  }
  return { log: await openForAppend(dir, lock), events: s.events, warnings: s.warnings }
}

function readOnlyLog(dir: string, locked: SessionLockedError): SessionLog {
  return { dir, lockedBy: locked.owner, append: () => Promise.reject(new SessionLockedError(dir, locked.owner)), close: async () => {} }
}

// --- reading ---

interface Scan extends ReadResult {
  /** Bytes to keep when cutting off an incomplete tail (everything up to its last newline). */
  keepBytes: number
  /** The file ends with a complete line that lost its newline. */
  needsNewline: boolean
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

async function scan(dir: string): Promise<Scan> {
  const file = logPath(dir)
  let bytes: Buffer
  try {
    // Non-blocking: a FIFO named session.jsonl opens at once and is refused, instead of hanging.
    const fh = await fs.open(file, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0))
    try {
      if (!(await fh.stat()).isFile()) throw new CuratorError('BAD_DATA', `${file} is not a regular file`)
      bytes = await fh.readFile()
    } finally {
      await fh.close()
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const folder = await fs.stat(dir).then(
        (s) => s.isDirectory(),
        () => null
      )
      if (folder === null) throw new CuratorError('NOT_FOUND', `There is no folder ${dir}`)
      if (!folder) throw new CuratorError('BAD_ARGUMENT', `${dir} is a file; open the session's folder`)
      throw new CuratorError('NOT_FOUND', `${dir} is not a Curator session folder (it has no session.jsonl)`)
    }
    throw err
  }
  const events: SessionEvent[] = []
  const warnings: string[] = []
  const seen = new Map<string, number>() // kept line text -> its line number
  let truncatedTail = false
  let needsNewline = false
  let start = 0
  for (let n = 1; start < bytes.length; n++) {
    const nl = bytes.indexOf(0x0a, start)
    const last = nl < 0
    const raw = bytes.subarray(start, last ? bytes.length : nl)
    start = last ? bytes.length : nl + 1

    const warn = (why: string): void => {
      warnings.push(`line ${n}: ${why}`)
    }
    let text: string
    let json: unknown
    try {
      text = utf8.decode(raw)
    } catch {
      if (last) {
        truncatedTail = true
        warn(`incomplete last line (crash while writing), ${raw.length} bytes ignored`)
      } else warn('not valid UTF-8')
      continue
    }
    if (text.trim() === '') {
      if (last) {
        truncatedTail = true
        warn(`incomplete last line (crash while writing), ${raw.length} bytes ignored`)
      } else warn('empty line')
      continue
    }
    try {
      json = JSON.parse(text)
    } catch {
      if (last) {
        // A line cut off by a crash never parses (its closing brace is missing).
        truncatedTail = true
        warn(`incomplete last line (crash while writing), ${raw.length} bytes ignored`)
      } else warn('invalid JSON')
      continue
    }
    // It parsed, so it is complete: only its newline may have been lost.
    if (last) needsNewline = true
    let event: SessionEvent
    try {
      event = validateLoggedEvent(json)
    } catch (err) {
      warn((err as Error).message)
      continue
    }
    const dup = seen.get(text)
    if (dup !== undefined) {
      warn(`duplicate of line ${dup}`)
      continue
    }
    if (events.length === 0 && event.type !== 'start') {
      throw new CuratorError('BAD_DATA', `${file}: line ${n}: the first event must be a start event, found ${event.type}`)
    }
    if (events.length > 0 && event.type === 'start') {
      warn('a second start event (a session has exactly one), ignored')
      continue
    }
    seen.set(text, n)
    events.push(event)
  }
  if (events.length === 0) throw new CuratorError('BAD_DATA', `${file}: no valid start event${warnings.length ? ` (${warnings[0]})` : ''}`)
  const keepBytes = truncatedTail ? bytes.lastIndexOf(0x0a) + 1 : bytes.length
  return { events, warnings, truncatedTail, keepBytes, needsNewline }
}

// --- writing ---

async function openForAppend(dir: string, lock: SessionLock): Promise<SessionLog> {
  // 'a': every write lands at the current end of the file, whatever happened before.
  let fh: FileHandle
  try {
    fh = await fs.open(logPath(dir), 'a')
  } catch (err) {
    lock.release()
    throw err
  }
  let queue: Promise<void> = Promise.resolve()
  let closed = false
  // Where the last acknowledged line ends. A failed write (a full disk) may leave part of a line
  // after it: that is cut off in place (at once, or before the next append), so the session goes
  // on as soon as there is room again, without reopening.
  let end: number
  try {
    end = (await fh.stat()).size
  } catch (err) {
    await fh.close().catch(() => {})
    lock.release()
    throw err
  }
  let damaged = false

  const write = async (line: Buffer): Promise<void> => {
    try {
      if (damaged) {
        await fh.truncate(end)
        await fh.datasync()
        damaged = false
      }
      await writeAll(fh, line)
      await fh.datasync()
      end += line.length
    } catch (err) {
      // Cut the unacknowledged part off now if the disk lets us (shrinking a file needs no room), else next time.
      damaged = !(await fh.truncate(end).then(
        () => true,
        () => false
      ))
      throw diskError(err, logPath(dir))
    }
  }

  return {
    dir,
    append(event) {
      if (closed) return Promise.reject(new CuratorError('NO_SESSION', `the session log in ${dir} is closed`))
      let line: Buffer
      try {
        if (validateEvent(event).type === 'start') throw new Error('a session has exactly one start event')
        line = Buffer.from(JSON.stringify(event) + '\n')
      } catch (err) {
        return Promise.reject(new CuratorError('BAD_ARGUMENT', `invalid session event: ${(err as Error).message}`))
      }
      // Chain onto the previous append so lines never interleave, even with concurrent callers.
      const done = queue.then(() => write(line))
      queue = done.catch(() => undefined)
      return done
    },
    async close() {
      if (closed) return
      closed = true
      await queue
      try {
        await fh.close()
      } finally {
        lock.release()
      }
    }
  }
}

async function backupCopy(file: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  for (let i = 0; ; i++) {
    const backup = `${file}.bak-${stamp}${i ? `-${i}` : ''}`
    try {
      await fs.copyFile(file, backup, fsConstants.COPYFILE_EXCL)
      await syncFile(backup)
      return backup
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
}
