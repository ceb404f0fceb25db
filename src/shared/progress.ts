// Progress of long work (pretraining, featurizing), as pushed to the UI and printed by the CLI.
export interface Progress {
  task: string
  done: number
  total: number
  /** Items per second so far. */
  rate: number
  /** null until the rate is known (JSON has no Infinity). */
  etaSeconds: number | null
  /** Extra figures, e.g. running loss and accuracy. */
  detail?: Record<string, number>
}

export function formatProgress(p: Progress): string {
  const pct = p.total ? ((100 * p.done) / p.total).toFixed(1) : '0.0'
  const detail = p.detail
    ? Object.entries(p.detail)
        .map(([k, v]) => ` ${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
        .join('')
    : ''
  return `${p.task}: ${p.done}/${p.total} (${pct}%) ${p.rate.toFixed(0)}/s ETA ${formatSeconds(p.etaSeconds)}${detail}`
}

export function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--'
  const m = Math.floor(s / 60)
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`
}

/** Measures rate and ETA for a task of known size. */
export class ProgressMeter {
  private readonly start = performance.now()
  constructor(
    readonly task: string,
    readonly total: number
  ) {}
  at(done: number, detail?: Record<string, number>): Progress {
    const seconds = (performance.now() - this.start) / 1000
    const rate = seconds > 0 ? done / seconds : 0
    return { task: this.task, done, total: this.total, rate, etaSeconds: rate > 0 ? (this.total - done) / rate : null, detail }
  }
}
