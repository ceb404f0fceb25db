// One writer per session folder: session.lock holds the writer's pid, host and a random nonce.
// Created with O_EXCL, so of two openers exactly one wins. A lock whose process is gone (same
// host, pid not running, or our own pid without our nonce: a reused pid after a restart) is
// stale and recovered: renamed away atomically, checked to still be the stale one, then retried,
// so two processes recovering the same stale lock cannot both win.
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { CuratorError } from '../../shared/errors'

export const LOCK_FILE = 'session.lock'

export interface LockOwner {
  pid: number
  host: string
  at: string
  app: string
  nonce: string
}

export interface SessionLock {
  readonly file: string
  readonly owner: LockOwner
  /** Removes the lock if it is still ours. */
  release(): void
}

/** Locks held by this process, removed again if it exits without closing them. */
const held = new Map<string, string>() // file -> nonce
let exitHook = false

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** How long a reader waits for a lock being written right now (created, its line not yet in) to be complete. */
const LOCK_WRITE_WAIT_MS = 1000

/** Waited on, never notified: a synchronous pause. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4))

function readOwner(file: string): LockOwner | null {
  for (let waited = 0; ; waited += 10) {
    try {
      const o = JSON.parse(readFileSync(file, 'utf8'))
      return Number.isInteger(o?.pid) && typeof o?.host === 'string' && typeof o?.nonce === 'string' ? o : null
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      // Unreadable garbage after the wait is treated as held, by someone unknown.
      if (waited >= LOCK_WRITE_WAIT_MS) return { pid: -1, host: '?', at: '?', app: '?', nonce: '?' }
      Atomics.wait(PAUSE, 0, 0, 10)
    }
  }
}

/** Whether the owner's process is certainly gone. A lock from another host is never presumed stale. */
function isStale(o: LockOwner): boolean {
  if (o.host !== hostname() || o.pid <= 0) return false
  if (o.pid === process.pid) return ![...held.values()].includes(o.nonce)
  return !alive(o.pid)
}

/** Who holds a session, in words: "pid 123 on host box since 2026-01-01T00:00:00Z (curator 0.1.0)". */
export const describeOwner = (o: LockOwner): string => `pid ${o.pid} on host ${o.host} since ${o.at} (${o.app})`

export class SessionLockedError extends CuratorError {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner
  ) {
    super(
      'FORBIDDEN',
      `This session is open for writing in another Curator (${describeOwner(owner)}); if that process is gone, delete ${join(dir, LOCK_FILE)}`
    )
  }
}

/** Takes the session's lock, or throws SessionLockedError naming its holder. */
export function lockSession(dir: string, app: string): SessionLock {
  const file = join(dir, LOCK_FILE)
  const owner: LockOwner = { pid: process.pid, host: hostname(), at: new Date().toISOString(), app, nonce: randomBytes(12).toString('hex') }
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644)
      try {
        writeSync(fd, JSON.stringify(owner) + '\n')
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      held.set(file, owner.nonce)
      if (!exitHook) {
        exitHook = true
        process.once('exit', () => {
          for (const [f, nonce] of held) removeIfOurs(f, nonce)
        })
      }
      return { file, owner, release: () => (removeIfOurs(file, owner.nonce), held.delete(file)) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const current = readOwner(file)
    if (current === null) continue // removed meanwhile: try again
    if (!isStale(current)) throw new SessionLockedError(dir, current)
    recoverStale(file, current)
  }
  throw new SessionLockedError(dir, readOwner(file) ?? owner)
}

/** Moves a stale lock aside; if what was moved turns out to be a fresh lock, puts it back. */
function recoverStale(file: string, stale: LockOwner): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    renameSync(file, aside)
  } catch {
    return // someone else moved it first
  }
  if (readOwner(aside)?.nonce !== stale.nonce) {
    try {
      linkSync(aside, file) // fails if a newer lock exists already: then that one stands
    } catch {
      // keep the newer one
    }
  }
  try {
    unlinkSync(aside)
  } catch {
    // already gone
  }
}

function removeIfOurs(file: string, nonce: string): void {
  if (readOwner(file)?.nonce !== nonce) return
  try {
    unlinkSync(file)
  } catch {
    // already gone
  }
}
