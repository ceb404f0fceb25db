import { Progress, formatProgress } from '../../shared/progress'

/** Prints progress on one stderr line, at most once a second, and ends the line when done. */
export function progressPrinter(): (p: Progress) => void {
  let last = 0
  return (p) => {
    const now = Date.now()
    const finished = p.done >= p.total
    if (now - last < 1000 && !finished) return
    last = now
    process.stderr.write(`\r${formatProgress(p)}   ${finished ? '\n' : ''}`)
  }
}
