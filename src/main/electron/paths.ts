// Where the desktop app's own files are, from the folder of the built main script (out/main).
import { join } from 'node:path'

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
