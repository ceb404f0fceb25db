import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'
import { contentSecurityPolicy } from './src/shared/csp'

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          cli: resolve(__dirname, 'src/main/cli/index.ts'),
          'engine-worker': resolve(__dirname, 'src/main/engine/engine-worker.ts'),
          'featurize-worker': resolve(__dirname, 'src/main/engine/featurize-worker.ts'),
          'train-worker': resolve(__dirname, 'src/main/engine/train-worker.ts'),
          'logits-worker': resolve(__dirname, 'src/main/engine/logits-worker.ts')
        }
      }
    }
  },
  preload: {
    build: {
      rollupOptions: { input: { index: resolve(__dirname, 'src/preload/index.ts') } }
    }
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    build: { rollupOptions: { input: resolve(__dirname, 'src/renderer/index.html') } },
    // The development server (unpackaged desktop runs) sends the same CSP, plus Vite's hot-reload socket.
    server: { headers: { 'Content-Security-Policy': contentSecurityPolicy(['ws://localhost:*', 'ws://127.0.0.1:*']) } },
    plugins: [vue()]
  }
})
