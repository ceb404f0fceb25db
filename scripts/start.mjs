// `npm start`: build, then launch Electron when its binary is installed; otherwise browser mode.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' })

if (run('npx', ['electron-vite', 'build']).status !== 0) process.exit(1)

let electronPath = null
try {
  electronPath = require('electron') // the binary's path, when the install script could download it
} catch {
  electronPath = null
}
if (electronPath && existsSync(electronPath)) {
  const child = spawn(electronPath, ['.'], { stdio: 'inherit' })
  child.on('exit', (code) => process.exit(code ?? 0))
} else {
  console.log(
    "Electron's binary is not installed: its install script downloads it from GitHub, and it was skipped\n" +
      '(ELECTRON_SKIP_BINARY_DOWNLOAD, no network, or npm not running the script: see allowScripts in package.json).\n' +
      'To fetch it now: node node_modules/electron/install.js   then run npm start again.\n' +
      'Starting browser mode instead.'
  )
  const child = spawn(process.execPath, ['bin/curator.js', 'serve', ...process.argv.slice(2)], { stdio: ['inherit', 'pipe', 'inherit'] })
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk)
    const url = /Curator is ready at (\S+)/.exec(String(chunk))?.[1]
    if (url && (process.env.DISPLAY || process.platform !== 'linux')) {
      const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
      spawn(opener, [url], { stdio: 'ignore', detached: true }).on('error', () => console.log(`Open ${url} in your browser.`))
    }
  })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code) => process.exit(code ?? 0))
}
