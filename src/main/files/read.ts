// Bounded, contained reads of files the user hands us (model folders, datasets, logs): only
// regular files, never a FIFO or a device (opened non-blocking, so a FIFO cannot hang us),
// never more bytes than the caller allows, and (given a root) never outside that folder once
// symlinks are resolved.
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, Stats } from 'node:fs'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { CuratorError } from '../../shared/errors'

/** Whether `path` is `root` or inside it (both already resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel))
}

/**
 * A relative path as written in a file (e.g. a weights path in model.json), resolved inside
 * root: no absolute paths, no `..`, and a symlink must land inside root too. Returns the real path.
 */
export function containedPath(root: string, rel: string, what: string): string {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0'))
    throw new CuratorError('BAD_DATA', `${what}: ${JSON.stringify(rel)} is not a file name`)
  if (isAbsolute(rel) || /^[a-zA-Z]:|^[\\/]/.test(rel))
    throw new CuratorError('BAD_DATA', `${what}: ${JSON.stringify(rel)} is an absolute path; only files inside the folder are read`)
  if (rel.split(/[\\/]/).includes('..'))
    throw new CuratorError('BAD_DATA', `${what}: ${JSON.stringify(rel)} leaves the folder; only files inside it are read`)
  const realRoot = realpathSync(root)
  let real: string
  try {
    real = realpathSync(resolve(realRoot, rel))
  } catch (err) {
    throw new CuratorError('BAD_DATA', `${what}: ${rel} is missing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  if (!isInside(realRoot, real))
    throw new CuratorError('BAD_DATA', `${what}: ${rel} is a link to ${real}, outside the folder; only files inside it are read`)
  return real
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder'
  if (st.isFIFO()) return 'a FIFO (named pipe)'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device'
  if (st.isSocket()) return 'a socket'
  return 'not a regular file'
}

export interface ReadLimits {
  /** Refuse files larger than this. */
  maxBytes?: number
  /** Refuse files of any other size (checked before reading). */
  exactBytes?: number
}

/**
 * Reads a whole regular file, refusing FIFOs, devices and folders (without blocking on them) and
 * files over the limits, all before reading a byte. Errors are CuratorErrors naming `what`.
 */
export function readRegularFile(path: string, what: string, limits: ReadLimits = {}): Buffer {
  return withRegularFile(path, what, (fd, size) => {
    if (limits.exactBytes !== undefined && size !== limits.exactBytes)
      throw new CuratorError('BAD_DATA', `${what} is ${size} bytes; ${limits.exactBytes} were expected`)
    if (limits.maxBytes !== undefined && size > limits.maxBytes)
      throw new CuratorError('BAD_DATA', `${what} is ${size} bytes, over the limit of ${limits.maxBytes}`)
    return readAt(fd, size, 0, what)
  })
}

/** The first `n` bytes of a regular file (fewer when it is shorter), e.g. to check a magic number. */
export function readHead(path: string, n: number, what: string): { head: Buffer; size: number } {
  return withRegularFile(path, what, (fd, size) => ({ head: readAt(fd, Math.min(n, size), 0, what), size }))
}

/** Opens a regular file non-blocking (a FIFO opens at once and is then refused) and passes its fd and size. */
export function withRegularFile<T>(path: string, what: string, use: (fd: number, size: number) => T): T {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CuratorError(code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_DATA', `Cannot read ${what}: ${(err as Error).message}`)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) throw new CuratorError('BAD_DATA', `${what} is ${kindOf(st)}, not a regular file`)
    return use(fd, st.size)
  } finally {
    closeSync(fd)
  }
}

function readAt(fd: number, n: number, at: number, what: string): Buffer {
  const buf = Buffer.allocUnsafe(n)
  let got = 0
  while (got < n) {
    const k = readSync(fd, buf, got, n - got, at + got)
    if (k === 0) throw new CuratorError('BAD_DATA', `${what} ended after ${got} of ${n} bytes (it changed while being read)`)
    got += k
  }
  return buf
}
