// Where Curator keeps what it can recompute: decoded folders and base-model features.
import { homedir } from 'node:os'
import { join } from 'node:path'

export function defaultCacheDir(): string {
  return process.env.CURATOR_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'curator')
}
