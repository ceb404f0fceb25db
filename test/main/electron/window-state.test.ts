// The window reopens where it was, never on a display that is gone.
import { describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_BOUNDS, fitBounds, loadBounds, saveBounds } from '../../../src/main/electron/window-state'

const LAPTOP = { x: 0, y: 0, width: 1440, height: 875 } // a work area: the screen minus the menu bar/dock
const RIGHT = { x: 1440, y: 0, width: 2560, height: 1400 }
const LEFT = { x: -1920, y: 120, width: 1920, height: 1040 }

describe('fitBounds', () => {
  it('keeps a position that is on a display', () => {
    expect(fitBounds({ width: 1200, height: 800, x: 100, y: 40 }, [LAPTOP])).toEqual({ width: 1200, height: 800, x: 100, y: 40 })
    expect(fitBounds({ width: 1600, height: 1000, x: 1500, y: 100 }, [LAPTOP, RIGHT])).toEqual({
      width: 1600,
      height: 1000,
      x: 1500,
      y: 100
    })
    expect(fitBounds({ width: 1200, height: 800, x: -1800, y: 200 }, [LAPTOP, LEFT])).toEqual({
      width: 1200,
      height: 800,
      x: -1800,
      y: 200
    })
  })
  it('drops a position that is off every display (the monitor it was on is unplugged)', () => {
    expect(fitBounds({ width: 1600, height: 1000, x: 1500, y: 100 }, [LAPTOP])).toEqual({ width: 1440, height: 875 })
    expect(fitBounds({ width: 1200, height: 800, x: -1800, y: 200 }, [LAPTOP])).toEqual({ width: 1200, height: 800 })
    expect(fitBounds({ width: 1200, height: 800, x: 5000, y: 5000 }, [LAPTOP, RIGHT])).toEqual({ width: 1200, height: 800 })
  })
  it('drops a position whose title bar cannot be grabbed', () => {
    // Above the top of the work area: the title bar is under the menu bar or off screen.
    expect(fitBounds({ width: 1200, height: 800, x: 100, y: -300 }, [LAPTOP])).toEqual({ width: 1200, height: 800 })
    // Only 40 px of the window's width on the display.
    expect(fitBounds({ width: 1200, height: 800, x: 1400, y: 100 }, [LAPTOP])).toEqual({ width: 1200, height: 800 })
    // The title bar below the bottom of the display.
    expect(fitBounds({ width: 1200, height: 800, x: 100, y: 860 }, [LAPTOP])).toEqual({ width: 1200, height: 800 })
  })
  it('pulls a window that is mostly on a display fully onto it, and shrinks one larger than it', () => {
    expect(fitBounds({ width: 1200, height: 800, x: 600, y: 300 }, [LAPTOP])).toEqual({ width: 1200, height: 800, x: 240, y: 75 })
    expect(fitBounds({ width: 2400, height: 1300, x: 0, y: 0 }, [LAPTOP])).toEqual({ width: 1440, height: 875, x: 0, y: 0 })
  })
  it('without a saved position, only limits the size to the primary display', () => {
    expect(fitBounds({ width: 1360, height: 880 }, [LAPTOP, RIGHT])).toEqual({ width: 1360, height: 875 })
    expect(fitBounds({ width: 1360, height: 880 }, [])).toEqual({ width: 1360, height: 880 })
  })
  it('keeps the maximized flag', () => {
    expect(fitBounds({ width: 1200, height: 800, x: 5000, y: 0, maximized: true }, [LAPTOP])).toEqual({
      width: 1200,
      height: 800,
      maximized: true
    })
  })
})

describe('loadBounds / saveBounds', () => {
  it('round-trips, and falls back to the default for a missing or bad file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'curator-winstate-'))
    try {
      expect(loadBounds(dir)).toEqual(DEFAULT_BOUNDS)
      saveBounds(dir, { width: 1000, height: 700, x: -1800, y: 200, maximized: true })
      expect(loadBounds(dir)).toEqual({ width: 1000, height: 700, x: -1800, y: 200, maximized: true })
      writeFileSync(join(dir, 'window-state.json'), '{"width": 10, "height": 700}')
      expect(loadBounds(dir)).toEqual(DEFAULT_BOUNDS)
      writeFileSync(join(dir, 'window-state.json'), '{"width": 1000, "height": 700, "x": "left", "y": 3}')
      expect(loadBounds(dir)).toEqual({ width: 1000, height: 700 })
      writeFileSync(join(dir, 'window-state.json'), 'not json')
      expect(loadBounds(dir)).toEqual(DEFAULT_BOUNDS)
      saveBounds(join(dir, 'missing', 'deeper'), { width: 1000, height: 700 }) // no throw
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
