// Registers only the Chart.js pieces the three charts use (the line and bar controllers too:
// vue-chartjs registers them for its components, and charts/warm.ts makes charts without them).
// Imported by the chart components and the warm-up, never by the pure builders.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DomPlatform,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip
} from 'chart.js'
import { themeColor } from './colors'

Chart.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend, LineController, BarController)
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, Cantarell, "Noto Sans", sans-serif'
// Chart.js draws in px: follow the page's root font size (the user's font setting), 11/14 of it.
const rootPx = typeof document === 'undefined' ? 14 : parseFloat(getComputedStyle(document.documentElement).fontSize) || 14
Chart.defaults.font.size = Math.round((rootPx * 11) / 14)
Chart.defaults.color = themeColor('--chart-ink')
Chart.defaults.animation = false

// Chart.js watches for each chart's canvas leaving the page with a MutationObserver over the whole
// document, called for every node any update adds or removes (a key press's answer chip, a new
// batch's 64 tiles): 0.1-0.7 ms a key with three charts. vue-chartjs destroys a chart when its
// component unmounts, so that watch is not needed. ('attach', used only for a canvas not yet in
// the page, and 'resize' are kept.)
const addEventListener = DomPlatform.prototype.addEventListener
DomPlatform.prototype.addEventListener = function (chart, type, listener) {
  if (type !== 'detach') addEventListener.call(this, chart, type, listener)
}

export { Chart }
