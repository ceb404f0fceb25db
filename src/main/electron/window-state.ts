// Remembers the window's size and position between launches, and never restores a window
// onto a display that is no longer there.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Bounds {
  width: number
  height: number
  x?: number
  y?: number
  maximized?: boolean
}

/** A display's work area (Electron's Display.workArea: the screen minus task bars and docks). */
export interface Area {
  x: number
  y: number
  width: number
  height: number
}

export const DEFAULT_BOUNDS: Bounds = { width: 1360, height: 880 }
const FILE = 'window-state.json'

export function loadBounds(dir: string): Bounds {
  try {
    const b = JSON.parse(readFileSync(join(dir, FILE), 'utf8'))
    if ([b.width, b.height].every((n) => Number.isInteger(n) && n >= 400 && n <= 10000)) {
      const placed = Number.isInteger(b.x) && Number.isInteger(b.y)
      return {
        width: b.width,
        height: b.height,
        ...(placed ? { x: b.x, y: b.y } : {}),
        ...(b.maximized === true ? { maximized: true } : {})
      }
    }
  } catch {
    // First launch or an unreadable file: defaults.
  }
  return { ...DEFAULT_BOUNDS }
}

export function saveBounds(dir: string, b: Bounds): void {
  try {
    writeFileSync(join(dir, FILE), JSON.stringify(b))
  } catch {
    // Losing the window position is not worth an error.
  }
}

/** How much of the title bar must be on a display for a saved position to be kept. */
const GRIP_WIDTH = 100
const GRIP_HEIGHT = 32

/**
 * The bounds to open with, given the saved ones and the work areas of the displays now
 * attached (the primary first). A saved position is kept only if enough of the window's title
 * bar lies on one display to grab it; otherwise the position is dropped (the window opens
 * centred on the primary display). The size never exceeds the display the window opens on.
 */
export function fitBounds(saved: Bounds, areas: Area[]): Bounds {
  const maximized = saved.maximized ? { maximized: true } : {}
  if (areas.length === 0) return { width: saved.width, height: saved.height, ...maximized }
  const clampSize = (a: Area) => ({ width: Math.min(saved.width, a.width), height: Math.min(saved.height, a.height) })
  if (saved.x === undefined || saved.y === undefined) return { ...clampSize(areas[0]), ...maximized }
  const { x, y } = saved
  const home = areas.find((a) => {
    const overlap = Math.min(x + saved.width, a.x + a.width) - Math.max(x, a.x)
    return overlap >= Math.min(GRIP_WIDTH, saved.width) && y >= a.y && y + GRIP_HEIGHT <= a.y + a.height
  })
  if (!home) return { ...clampSize(areas[0]), ...maximized }
  const size = clampSize(home)
  // Shrunk or partly off the edge: pull it back inside the display it is on.
  const nx = Math.min(Math.max(x, home.x), home.x + home.width - size.width)
  const ny = Math.min(Math.max(y, home.y), home.y + home.height - size.height)
  return { ...size, x: nx, y: ny, ...maximized }
}
