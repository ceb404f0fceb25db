// Where Curator keeps things on plain Node (CLI, browser mode). The desktop app passes its own.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

export function defaultDataDir(): string {
  return process.env.CURATOR_DATA_DIR ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'curator')
}

/** The built renderer (out/renderer), from the build output or the source tree. */
export function rendererDir(): string {
  const candidates = [join(here, '../renderer'), join(here, '../../renderer'), resolve(here, '../../out/renderer'), resolve('out/renderer')]
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]
}
