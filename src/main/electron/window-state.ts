// Remembers the window's size and position between launches.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Bounds {
  width: number
  height: number
  x?: number
  y?: number
}

const DEFAULT: Bounds = { width: 1360, height: 880 }

export function loadBounds(dir: string): Bounds {
  try {
    const b = JSON.parse(readFileSync(join(dir, 'window-state.json'), 'utf8'))
    if ([b.width, b.height].every((n) => Number.isInteger(n) && n >= 400 && n <= 10000)) return { width: b.width, height: b.height, x: Number.isInteger(b.x) ? b.x : undefined, y: Number.isInteger(b.y) ? b.y : undefined }
  } catch {
    // First launch or an unreadable file: defaults.
  }
  return DEFAULT
}

export function saveBounds(dir: string, b: Bounds): void {
  try {
    writeFileSync(join(dir, 'window-state.json'), JSON.stringify(b))
  } catch {
    // Losing the window position is not worth an error.
  }
}
