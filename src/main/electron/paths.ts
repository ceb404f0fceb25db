// Where the desktop app's own files are, from the folder of the built main script (out/main).
import { join, resolve } from 'node:path'

export interface AppPaths {
  /** The sandboxed preload (out/preload/index.js). */
  preload: string
  /** The built renderer (out/renderer/), served as curator://app/: the only page the window loads in production. */
  rendererDir: string
  /** The window icon (resources/icon.png). Unpacked from app.asar, because the OS reads it by path. */
  icon: string
}

export function appPaths(mainDir: string): AppPaths {
  return {
    preload: join(mainDir, '../preload/index.js'),
    rendererDir: join(mainDir, '../renderer'),
    icon: unpacked(join(mainDir, '../../resources/icon.png'))
  }
}

/** The on-disk path of a file electron-builder unpacked (asarUnpack) next to app.asar. */
export function unpacked(path: string): string {
  return path.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2')
}

/**
 * The profile folder CURATOR_USER_DATA_DIR asks for (tests, a second profile in development):
 * honoured only unpackaged, so nothing in an installed app's environment moves its data and
 * its single-instance lock; a relative value is taken from the working folder.
 */
export function userDataOverride(value: string | undefined, packaged: boolean, cwd = process.cwd()): string | null {
  if (!value || packaged) return null
  return resolve(cwd, value)
}

/**
 * Development runs (unpackaged) keep a profile of their own beside the installed app's, so a
 * `npm start` never shares the installed app's data or its single-instance lock.
 */
export function devProfile(appData: string, packaged: boolean, name = 'Curator'): string | null {
  return packaged ? null : join(appData, `${name} (development)`)
}

/**
 * The feature and dataset cache inside the profile. Chromium keeps its HTTP cache in the same
 * folder as `Cache` (and `Code Cache`, `GPUCache`, ...): on case-insensitive file systems
 * (macOS, Windows) a folder named `cache` would be that one, so ours has a name of its own.
 */
export const CACHE_FOLDER = 'curator-cache'
export const cacheDirOf = (userData: string): string => join(userData, CACHE_FOLDER)
