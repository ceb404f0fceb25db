// Registers only the Chart.js pieces the three charts use (vue-chartjs registers the
// line and bar controllers itself). Imported by the chart components, never by the pure builders.
import { BarElement, CategoryScale, Chart, Legend, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js'
import { themeColor } from './colors'

Chart.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend)
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, Cantarell, "Noto Sans", sans-serif'
// Chart.js draws in px: follow the page's root font size (the user's font setting), 11/14 of it.
const rootPx = typeof document === 'undefined' ? 14 : parseFloat(getComputedStyle(document.documentElement).fontSize) || 14
Chart.defaults.font.size = Math.round((rootPx * 11) / 14)
Chart.defaults.color = themeColor('--chart-ink')
Chart.defaults.animation = false

export { Chart }
