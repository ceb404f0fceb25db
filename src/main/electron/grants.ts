// Which files and folders the page may name over IPC. A page that went wrong (a bug, injected
// script) could otherwise read or write anywhere the user can: it may name only folders the user
// chose in a native dialog during this run (and what is inside them), or the app's own data folder.
import { isAbsolute, relative, resolve } from 'node:path'
import { NAMED_PATHS } from '../../shared/schema'
import { CuratorError } from '../../shared/errors'
import { datasetPath } from '../data/spec'
import type { CheckedCall } from '../studio/validate'

export class PathGrants {
  private readonly roots: string[]

  constructor(dataDir: string) {
    this.roots = [resolve(dataDir)]
  }

  /** A folder the user chose in a dialog: it, and everything in it, may be named from now on (this run only). */
  grant(path: string): void {
    const p = resolve(path)
    if (!this.roots.includes(p)) this.roots.push(p)
  }

  /** Whether `path` (resolved: no `..` leads out) is a granted folder or inside one. */
  allows(path: string): boolean {
    const p = resolve(path)
    return this.roots.some((root) => {
      const r = relative(root, p)
      return r === '' || (!r.startsWith('..') && !isAbsolute(r))
    })
  }

  /** Refuses (FORBIDDEN) a call that names a path outside what was granted. */
  check(call: CheckedCall): void {
    const named = (
      NAMED_PATHS[call.method] as ((args: unknown[]) => { paths?: (string | null | undefined)[]; datasets?: string[] }) | undefined
    )?.(call.args)
    if (!named) return
    const paths = [...(named.paths ?? []), ...(named.datasets ?? []).map(datasetPath)].filter((p): p is string => typeof p === 'string')
    for (const path of paths) {
      if (!this.allows(path))
        throw new CuratorError(
          'FORBIDDEN',
          `The desktop app works only in folders you chose with Choose… (or its own data folder); choose ${path} there first`,
          { path }
        )
    }
  }
}
