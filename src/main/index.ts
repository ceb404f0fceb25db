// The Electron shell: app lifecycle, one window, IPC. Everything else is plain Node.
import { app, BrowserWindow, dialog, ipcMain, Menu, shell } from 'electron'
import { join } from 'node:path'
import { channel } from '../shared/contract'
import { startEngine } from './engine/client'
import { configureExports } from './export/configure'
import { Studio } from './studio/studio'
import { VERSION } from './version'
import { registerStudioHandlers } from './electron/ipc'
import { menuTemplate } from './electron/menu'
import { denyPermissions, hardenContents, isAllowedExternal, windowOptions } from './electron/security'
import { loadBounds, saveBounds } from './electron/window-state'

const devUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined
let win: BrowserWindow | null = null

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => {
    if (win?.isMinimized()) win.restore()
    win?.focus()
  })
  app.whenReady().then(start)
  app.on('window-all-closed', () => app.quit())
}

async function start(): Promise<void> {
  const userData = app.getPath('userData')
  const engine = startEngine((p) => studio.emit('progress', p))
  const studio: Studio = new Studio(
    configureExports({
      dataDir: userData,
      cacheDir: join(userData, 'cache'),
      engine,
      version: VERSION,
      desktop: true,
      pickFolder: async (purpose) => {
        const r = await dialog.showOpenDialog(win!, { title: purpose === 'dataset' ? 'Choose a dataset folder' : purpose === 'session' ? 'Open a session folder' : 'Export the model into…', properties: ['openDirectory', 'createDirectory'] })
        return r.canceled ? null : (r.filePaths[0] ?? null)
      }
    })
  )
  studio.on((event, payload) => win?.webContents.send(channel(event), payload))
  registerStudioHandlers(ipcMain, studio, () => win?.webContents ?? null, devUrl)
  denyPermissions((await import('electron')).session.defaultSession)
  const openExternal = (url: string) => void (isAllowedExternal(url) && shell.openExternal(url))

  const bounds = loadBounds(userData)
  win = new BrowserWindow(windowOptions(join(__dirname, '../preload/index.js'), bounds))
  hardenContents(win.webContents, devUrl, openExternal)
  win.once('ready-to-show', () => win?.show())
  win.on('close', () => win && saveBounds(userData, win.getBounds()))
  win.on('closed', () => (win = null))
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(menuTemplate((command) => studio.emit('menu', command), { isMac: process.platform === 'darwin', dev: !app.isPackaged, quit: () => app.quit() }))
  )
  app.on('before-quit', () => void studio.close().then(() => engine.terminate()))
  if (devUrl) await win.loadURL(devUrl)
  else await win.loadFile(join(__dirname, '../renderer/index.html'))
}
