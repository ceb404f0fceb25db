// Chart.js's first chart in a page costs several times a later one: its code runs for the first
// time (parsed, then interpreted) while it lays out and draws. Made as a session opens, that first
// chart was the labelling view's longest frame (128 ms against 32-48 for the next two, profiled
// on a slow 2-core machine), just as the labeller starts pressing keys. warmCharts() makes the
// three charts the panel shows once, off screen, one per idle slot while the start screen waits
// for the user, and throws them away: the panel's own charts then run warm code.
import { DEFAULT_TASK } from '../../../shared/contract'
import { accuracyChart } from './accuracy'
import { histogramChart } from './histogram'
import { Chart } from './register'
import { weightsChart } from './weights'

const SIDE = 120
/** How long an idle slot may be waited for: the user may start a session at once. */
const IDLE_TIMEOUT_MS = 1000
let warmed = false

/**
 * Makes and drops each kind of chart once, in a browser's idle slots (where there are none, as in
 * a test's DOM, nothing is done); later calls do nothing.
 */
export function warmCharts(): void {
  if (warmed || typeof requestIdleCallback !== 'function') return
  warmed = true
  const idle = (cb: () => void) => requestIdleCallback(cb, { timeout: IDLE_TIMEOUT_MS })
  const kinds = [
    () => ({ type: 'line' as const, ...accuracyChart([]) }),
    () => ({ type: 'bar' as const, ...weightsChart([0.5, -0.5], 0.1, ['0', '1']) }),
    () => ({ type: 'bar' as const, ...histogramChart(null, DEFAULT_TASK) })
  ]
  const next = (k: number): void => {
    // Said on the page (data-charts-warm), for the end-to-end test that looks it ran in Chromium.
    if (k >= kinds.length) return void (document.documentElement.dataset.chartsWarm = 'true')
    const canvas = document.createElement('canvas')
    canvas.width = canvas.height = SIDE
    // A page without a 2D context (a test's DOM) has nothing to warm.
    if (!canvas.getContext('2d')) return
    const { type, data, options } = kinds[k]()
    new Chart(canvas, { type, data, options: { ...options, responsive: false } } as ConstructorParameters<typeof Chart>[1]).destroy()
    idle(() => next(k + 1))
  }
  idle(() => next(0))
}
