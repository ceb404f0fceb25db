import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { installPerfProbe } from './lib/perf'
import './styles.css'

installPerfProbe()
createApp(App).use(createPinia()).mount('#app')
