// Filesystem safety in one place: atomic writes of files and folders (a hidden temporary
// sibling, fsync, rename, fsync of the folder), "refuse to replace what is not ours", and the
// mapping of disk errors to the error codes the user sees (DISK_FULL, NOT_WRITABLE, EXISTS).
// The session log, model and GIF export, base models and the caches all write through it.
import { randomBytes } from 'node:crypto'
import { chmod, copyFile, link, lstat, mkdir, open, readdir, readlink, rename, rm, stat, symlink, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { CuratorError, errnoCode } from '../../shared/errors'

type Errno = NodeJS.ErrnoException

/**
 * A filesystem error as the CuratorError the user sees, naming `target`. Codes: ENOSPC/EDQUOT
 * DISK_FULL; EACCES/EPERM/EROFS and a file where a folder must be NOT_WRITABLE; EEXIST EXISTS;
 * ENOENT NOT_FOUND. A CuratorError passes through; anything else is INTERNAL.
 */
export function diskError(err: unknown, target: string): CuratorError {
  if (err instanceof CuratorError) return err
  const e = err as Errno
  const code = errnoCode(e?.code)
  const details = { path: target }
  switch (code) {
    case 'DISK_FULL':
      return new CuratorError(
        code,
        `The disk is full: cannot write ${target}. Nothing was written; free some space and try again.`,
        details
      )
    case 'NOT_WRITABLE': {
      const why =
        e.code === 'ENOTDIR' ? 'part of that path is a file, not a folder' : e.code === 'EISDIR' ? 'it is a folder' : 'permission denied'
      return new CuratorError(code, `Cannot write ${target}: ${why}`, details)
    }
    case 'EXISTS':
      return new CuratorError(code, `${target} already exists`, details)
    case 'NOT_FOUND':
      return new CuratorError(code, `${target} does not exist`, details)
    default:
      return new CuratorError('INTERNAL', `Writing ${target} failed: ${e?.message ?? String(err)}`, details)
  }
}

export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false
  )

/** Creates a folder and its parents; a file in the way (mkdir says EEXIST) is NOT_WRITABLE. */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    throw diskError((err as Errno).code === 'EEXIST' ? Object.assign(err as Errno, { code: 'ENOTDIR' }) : err, dir)
  }
}

/** Flushes a file's data to disk. */
export async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Makes a folder's entries (a new file, a rename) durable. Best effort: not possible on Windows. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // best effort
  }
}

/** Flushes every file of a folder (recursively), then the folder itself. */
export async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await syncTree(path)
    else if (entry.isFile()) await syncFile(path)
  }
  await syncDir(dir)
}

/**
 * Whether an existing target may be replaced: 'never' (refuse with EXISTS), 'always', or a check
 * that says whether what is there is ours to replace (an earlier export, a GIF we wrote).
 */
export type ReplacePolicy = 'never' | 'always' | ((path: string) => Promise<boolean>)

/** The hidden temporary sibling of `target`: same folder (so the rename is atomic), stamped with our pid. */
const tempFor = (target: string) => join(dirname(target), `.${basename(target)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`)

async function mayReplace(target: string, replace: ReplacePolicy, what: string): Promise<boolean> {
  if (!(await exists(target))) return false
  if (replace === 'never') throw new CuratorError('EXISTS', `${target} already exists`, { path: target })
  if (replace !== 'always' && !(await replace(target))) {
    throw new CuratorError('EXISTS', `${target} exists and is not ${what}; refusing to replace it`, { path: target })
  }
  return true
}

export interface WriteOptions {
  /** Default 'always' for files. 'never' is race-free: the file is linked into place, which fails if it appeared meanwhile. */
  replace?: ReplacePolicy
  /** How a refusal names what may be replaced ("an earlier Curator export"). */
  ours?: string
  /** Files: the permissions the file is created with (0o600: owner only); default 0o666 less the umask. */
  mode?: number
}

/**
 * Writes `data` to `target` atomically: a reader sees the old file or the whole new one, never a
 * part, and after a crash the file is either absent or complete. Parent folders are created.
 */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | string | readonly Uint8Array[],
  opts: WriteOptions = {}
): Promise<void> {
  const file = await openAtomic(target, opts)
  try {
    // Chunks are written one by one, so a large cache is never copied into one buffer.
    if (Array.isArray(data)) for (const chunk of data) await file.write(chunk)
    else await file.write(typeof data === 'string' ? Buffer.from(data) : (data as Uint8Array))
    await file.commit()
  } finally {
    await file.abort()
  }
}

/** A file being written in parts that appears at its target whole, on commit, or not at all. */
export interface AtomicFile {
  /** Appends a chunk (in call order). */
  write(chunk: Uint8Array): Promise<void>
  /** Bytes written so far. */
  readonly size: number
  /** fsync, then moves the file into place. */
  commit(): Promise<void>
  /** Removes the temporary file (a no-op after commit). */
  abort(): Promise<void>
}

/** The streamed form of writeFileAtomic: for a file too large to hold (a folder's thumbnails). */
export async function openAtomic(target: string, opts: WriteOptions = {}): Promise<AtomicFile> {
  const replace = opts.replace ?? 'always'
  const tmp = tempFor(target)
  let fh: FileHandle | null = null
  try {
    await makeFolder(dirname(target))
    await mayReplace(target, replace, opts.ours ?? 'ours')
    fh = await open(tmp, 'wx', opts.mode ?? 0o666)
  } catch (err) {
    throw diskError(err, target)
  }
  let size = 0
  const close = async () => {
    const h = fh
    fh = null
    await h?.close()
  }
  return {
    get size() {
      return size
    },
    async write(chunk) {
      try {
        await writeAll(fh!, chunk)
        size += chunk.length
      } catch (err) {
        throw diskError(err, target)
      }
    },
    async commit() {
      try {
        await fh!.sync()
        await close()
        if (replace === 'never') await linkIntoPlace(tmp, target)
        else await rename(tmp, target)
        await syncDir(dirname(target))
      } catch (err) {
        throw diskError(err, target)
      }
    },
    async abort() {
      await close().catch(() => {})
      await rm(tmp, { force: true }).catch(() => {})
    }
  }
}

/** write() may write fewer bytes than asked: loop until the whole buffer is out. */
export async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  for (let off = 0; off < buf.length;) off += (await fh.write(buf, off, Math.min(buf.length - off, 1 << 30))).bytesWritten
}

/** link() is atomic and refuses an existing target; filesystems without hard links (FAT, some shares) fall back to a checked rename. */
async function linkIntoPlace(tmp: string, target: string): Promise<void> {
  try {
    await link(tmp, target)
  } catch (err) {
    if ((err as Errno).code === 'EEXIST' || (await exists(target)))
      throw diskError(Object.assign(new Error('exists'), { code: 'EEXIST' }), target)
    await rename(tmp, target)
  }
}

/** Temporary folders of folder writes running in this process (never removed as abandoned). */
const active = new Set<string>()

/** What a file manager leaves in a folder it only showed: such a folder still counts as empty. */
const CLUTTER = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini'])

/** A folder that holds nothing (or only a file manager's clutter): what a folder picker's "New Folder" returns. */
export async function isEmptyFolder(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).every((name) => CLUTTER.has(name))
  } catch {
    return false
  }
}

export interface FolderWriteOptions extends WriteOptions {
  /**
   * The entries of the folder being replaced that are not ours (the user's files beside an earlier
   * export, a picked folder's clutter): carried into the new folder as they are (hard-linked, or
   * copied where the filesystem has no hard links). One the new folder also writes is refused.
   * Without it nothing is carried over.
   */
  keep?: (target: string) => Promise<string[]>
}

/**
 * Writes a folder atomically: `fill` writes into a hidden temporary sibling, which is flushed and
 * renamed into place (an existing target is swapped out first, if the policy allows; an empty
 * one always may be). An interrupted write never leaves a half folder; what a killed process
 * left behind is cleaned up by the next write to the same target (an earlier folder it had
 * swapped out is put back first).
 */
export async function writeFolderAtomic(
  target: string,
  fill: (tmp: string) => Promise<void>,
  opts: FolderWriteOptions = {}
): Promise<void> {
  const replace = opts.replace ?? 'never'
  const parent = dirname(target)
  await makeFolder(parent)
  await removeAbandoned(parent, basename(target))
  const replacing = (await isEmptyFolder(target)) || (await mayReplace(target, replace, opts.ours ?? 'ours'))
  const tmp = tempFor(target)
  active.add(tmp)
  try {
    await mkdir(tmp)
    await fill(tmp)
    await syncTree(tmp)
    if (replacing) {
      // The new folder takes the old one's place whole: its permissions and the files that are not ours.
      await chmod(tmp, (await stat(target)).mode & 0o7777)
      for (const name of (await opts.keep?.(target)) ?? []) {
        const path = join(target, name)
        if (await exists(join(tmp, name)))
          throw new CuratorError(
            'EXISTS',
            `${path} is in the way: it is not ${opts.ours ?? 'ours'} and would be replaced; move it away first`,
            {
              path
            }
          )
        await carry(path, join(tmp, name))
      }
      await syncDir(tmp)
      const old = `${tmp}.old`
      await rename(target, old)
      await rename(tmp, target)
      await rm(old, { recursive: true, force: true })
    } else {
      await rename(tmp, target)
    }
    await syncDir(parent)
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {})
    throw diskError(err, target)
  } finally {
    active.delete(tmp)
  }
}

/** Recreates `from` at `to` without copying file contents where it can: folders rebuilt, files hard-linked, symlinks recreated. */
async function carry(from: string, to: string): Promise<void> {
  const st = await lstat(from)
  if (st.isDirectory()) {
    await mkdir(to, { mode: st.mode & 0o7777 })
    for (const name of await readdir(from)) await carry(join(from, name), join(to, name))
    await syncDir(to)
  } else if (st.isSymbolicLink()) {
    await symlink(await readlink(from), to)
  } else {
    try {
      await link(from, to)
    } catch (err) {
      if (!st.isFile()) throw err
      await copyFile(from, to)
      await syncFile(to).catch(() => {})
    }
  }
}

/**
 * Cleans up after a write to the same target whose process was killed: its hidden temporary
 * folders (`.NAME.partial-PID-HEX`) are removed, and an earlier folder it had swapped out
 * (`….old`) is put back when the target is missing (killed between the two renames), removed
 * otherwise. Best effort: what it cannot remove stays hidden and harmless.
 */
async function removeAbandoned(parent: string, name: string): Promise<void> {
  const prefix = `.${name}.partial-`
  let entries: string[]
  try {
    entries = await readdir(parent)
  } catch {
    return
  }
  const abandoned = entries
    .filter((entry) => entry.startsWith(prefix))
    .flatMap((entry) => {
      const m = /^(\d+)-[0-9a-f]{8}(\.old)?$/.exec(entry.slice(prefix.length))
      if (!m) return []
      const pid = Number(m[1])
      const path = join(parent, entry)
      const gone = pid === process.pid ? !active.has(path.replace(/\.old$/, '')) : !processAlive(pid)
      return gone ? [{ path, old: !!m[2] }] : []
    })
  const target = join(parent, name)
  for (const { path } of abandoned.filter((a) => a.old)) {
    if (!(await exists(target))) await rename(path, target).catch(() => {})
  }
  for (const { path } of abandoned) await rm(path, { recursive: true, force: true }).catch(() => {})
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as Errno).code === 'EPERM' // alive, owned by someone else
  }
}
