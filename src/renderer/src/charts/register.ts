// Registers only the Chart.js pieces the three charts use (vue-chartjs registers the
// line and bar controllers itself). Imported by the chart components, never by the pure builders.
import { BarElement, CategoryScale, Chart, Legend, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js'

Chart.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend)
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, Cantarell, "Noto Sans", sans-serif'
Chart.defaults.font.size = 11
Chart.defaults.color = 'rgb(51, 65, 85)'
Chart.defaults.animation = false

export { Chart }
