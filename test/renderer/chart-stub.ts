// Chart.js cannot draw in happy-dom: the views are tested with vue-chartjs's components
// replaced by a plain canvas that keeps the props it was given.
import { defineComponent, h } from 'vue'

const stub = (type: string) =>
  defineComponent({
    name: `${type}ChartStub`,
    props: { data: { type: Object, required: true }, options: { type: Object, default: () => ({}) } },
    setup(props) {
      return () =>
        h('canvas', { 'data-stub-chart': type, 'data-datasets': String((props.data as { datasets: unknown[] }).datasets.length) })
    }
  })

export const Line = stub('line')
export const Bar = stub('bar')
