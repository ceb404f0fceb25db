// A folder as one zip (fflate: maintained, no native code), so browser mode can offer an export
// as a single download. Entries carry the files' modification times; only regular files are
// packed (a symlink inside the folder is left out, never followed out of it).
import { zipSync, type Zippable } from 'fflate'
import { lstatSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Zips the regular files inside `dir` (subfolders included), under the folder name `name/`. */
export function zipFolder(dir: string, name: string): Buffer {
  const entries: Zippable = {}
  const walk = (prefix: string): void => {
    for (const f of readdirSync(join(dir, prefix)).sort()) {
      const rel = prefix ? `${prefix}/${f}` : f
      const st = lstatSync(join(dir, rel))
      if (st.isDirectory()) walk(rel)
      else if (st.isFile()) entries[`${name}/${rel}`] = [readFileSync(join(dir, rel)), { mtime: st.mtime }]
    }
  }
  walk('')
  return Buffer.from(zipSync(entries, { level: 6 }))
}
