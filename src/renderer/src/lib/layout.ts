// Fitting the batch into the space the window leaves: how many columns, and how large
// each image can be. Small images (28x28) grow by whole factors so pixels stay square.

export interface TileChrome {
  /** Extra width around an image inside a tile (padding + border). */
  x: number
  /** Extra height (padding + border + caption). */
  y: number
  /** Gap between tiles. */
  gap: number
}

export const TILE_CHROME: TileChrome = { x: 16, y: 44, gap: 14 }

export interface BatchLayout {
  columns: number
  /** The side of the square box each image is fitted into, in CSS pixels. */
  box: number
}

/**
 * The column count that lets `n` tiles be largest inside `width` x `height`, and the box
 * side. The box is a whole multiple of `side` (the image's larger side) when it is
 * enlarged, and never above `maxBox`.
 */
export function fitBatch(
  n: number,
  side: number,
  width: number,
  height: number,
  opts: { chrome?: TileChrome; maxBox?: number; minBox?: number } = {}
): BatchLayout {
  const chrome = opts.chrome ?? TILE_CHROME
  const maxBox = opts.maxBox ?? 336
  const minBox = opts.minBox ?? 56
  const count = Math.max(1, n)
  let best: BatchLayout = { columns: Math.min(count, 2), box: minBox }
  let bestRaw = -Infinity
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns)
    const w = (width - (columns - 1) * chrome.gap) / columns - chrome.x
    const h = (height - (rows - 1) * chrome.gap) / rows - chrome.y
    const raw = Math.min(w, h, maxBox)
    if (raw > bestRaw + 0.5) {
      bestRaw = raw
      best = { columns, box: raw }
    }
  }
  const s = Math.max(1, side)
  let box = Math.max(minBox, Math.floor(bestRaw))
  if (box >= s * 2) box = Math.floor(box / s) * s
  box = Math.min(box, maxBox)
  // Held up at the minimum box, the columns that row needed may be wider than the area: take
  // as many as fit across (at least one), and let the area scroll down instead of clipping sides.
  const across = Math.max(1, Math.floor((width + chrome.gap) / (box + chrome.x + chrome.gap)))
  return { columns: Math.min(best.columns, across), box }
}

/**
 * The grid's columns for a layout: alike, at least as wide as a tile, and as wide as the
 * widest caption where the card has room (a batch of 4 keeps its captions on one line);
 * where it has not, they share the card's width and a caption wraps inside its tile.
 */
export function gridColumns(layout: BatchLayout, chrome: TileChrome = TILE_CHROME): string {
  return `repeat(${layout.columns}, minmax(${layout.box + chrome.x}px, 1fr))`
}
