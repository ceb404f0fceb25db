// The folder browser of browser mode (which has no native dialog): the subfolders of one folder
// the user typed or clicked to. Only directory entries are read, never a file: names of
// subfolders, and a count of the image files by their names. Hidden entries are left out, a
// link is listed only while it stays inside the folder, and a huge folder is read only so far.
import { opendir, realpath, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, extname, isAbsolute, join, resolve } from 'node:path'
import type { FolderListing } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { isInside } from '../files/read'
import { IMAGE_EXTENSIONS } from './decode'

/** Directory entries read before the listing stops (it says it is cut short). */
export const MAX_LISTED_ENTRIES = 20_000
/** Subfolders returned at most. */
export const MAX_LISTED_FOLDERS = 2_000

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The subfolders of `path` (none given: the home folder). A relative path is refused: relative to what? */
export async function listFolders(path?: string): Promise<FolderListing> {
  const typed = path ?? homedir()
  if (typed.includes('\0')) throw new CuratorError('BAD_ARGUMENT', 'A folder path cannot hold a NUL character')
  if (!isAbsolute(typed))
    throw new CuratorError('BAD_ARGUMENT', `Type a full path (from / or a drive letter), got ${JSON.stringify(typed)}`)
  const abs = resolve(typed)
  try {
    if (!(await stat(abs)).isDirectory()) throw new CuratorError('BAD_ARGUMENT', `${abs} is a file, not a folder`)
  } catch (err) {
    if (err instanceof CuratorError) throw err
    throw problem(err, abs)
  }
  const real = await realpath(abs)
  const folders: string[] = []
  let images = 0
  let seen = 0
  let truncated = false
  try {
    for await (const e of await opendir(abs, { bufferSize: 256 })) {
      if (++seen > MAX_LISTED_ENTRIES) {
        truncated = true
        break
      }
      if (e.name.startsWith('.')) continue
      if (e.isDirectory()) folders.push(e.name)
      else if (e.isSymbolicLink()) {
        try {
          const target = await realpath(join(abs, e.name))
          if (isInside(real, target) && (await stat(target)).isDirectory()) folders.push(e.name)
        } catch {
          // A broken link: nothing to open.
        }
      } else if (e.isFile() && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) images++
    }
  } catch (err) {
    throw problem(err, abs)
  }
  folders.sort(byName)
  if (folders.length > MAX_LISTED_FOLDERS) {
    folders.length = MAX_LISTED_FOLDERS
    truncated = true
  }
  const parent = dirname(abs)
  return { path: abs, parent: parent === abs ? null : parent, folders, images, truncated }
}

function problem(err: unknown, abs: string): CuratorError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return new CuratorError('NOT_FOUND', `There is no folder ${abs}`)
  if (code === 'EACCES' || code === 'EPERM') return new CuratorError('FORBIDDEN', `${abs}: permission denied`)
  return new CuratorError('BAD_DATA', `${abs}: ${(err as Error).message}`)
}
