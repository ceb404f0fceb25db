// The Electron shell: app lifecycle, one window, IPC. Everything else is plain Node.
// The security checklist lives in electron/security.ts; this file only wires it up.
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, session, shell } from 'electron'
import { channel } from '../shared/contract'
import { startEngine } from './engine/client'
import { Studio } from './studio/studio'
import { VERSION } from './version'
import { PathGrants } from './electron/grants'
import { registerStudioHandlers } from './electron/ipc'
import { menuTemplate } from './electron/menu'
import { appPaths, cacheDirOf, devProfile, userDataOverride } from './electron/paths'
import { shutdown } from './electron/shutdown'
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, appResponse } from './electron/scheme'
import {
  blockRemoteRequests,
  denyPermissions,
  hardenContents,
  isAllowedExternal,
  loadRenderer,
  rendererTarget,
  windowOptions
} from './electron/security'
import { fitBounds, loadBounds, saveBounds } from './electron/window-state'

// A profile folder of its own (the Electron smoke test, a second profile), unpackaged only; and
// development runs never use the installed app's. It also gives that profile its own
// single-instance lock, so set it before asking for the lock.
const profile =
  userDataOverride(process.env.CURATOR_USER_DATA_DIR, app.isPackaged) ?? devProfile(app.getPath('appData'), app.isPackaged, app.getName())
if (profile) app.setPath('userData', profile)
else if (process.env.CURATOR_USER_DATA_DIR) console.warn('CURATOR_USER_DATA_DIR is ignored: the installed app keeps its own profile folder')

const paths = appPaths(__dirname)
/** The one page the window ever loads: curator://app/index.html, or the loopback dev server when unpackaged. */
const target = rendererTarget({ packaged: app.isPackaged, devUrl: process.env.ELECTRON_RENDERER_URL, rendererDir: paths.rendererDir })
// Before the app is ready, or the scheme gets no origin of its own.
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES])
const openExternal = (url: string): void => {
  if (isAllowedExternal(url)) void shell.openExternal(url)
}
let win: BrowserWindow | null = null

app.enableSandbox()
if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  // A second launch focuses this one.
  app.on('second-instance', () => {
    if (!win) return
    if (win.isMinimized()) win.restore()
    win.show()
    win.focus()
  })
  // Every web contents, ours or not: no navigation away, no popups, no <webview>.
  app.on('web-contents-created', (_event, contents) => hardenContents(contents, target, openExternal))
  app.on('window-all-closed', () => app.quit())
  app
    .whenReady()
    .then(start)
    .catch((err: unknown) => {
      dialog.showErrorBox('Curator could not start', (err as Error)?.stack ?? String(err))
      app.exit(1)
    })
}

async function start(): Promise<void> {
  const userData = app.getPath('userData')
  denyPermissions(session.defaultSession)
  blockRemoteRequests(session.defaultSession, target)
  session.defaultSession.protocol.handle(APP_SCHEME, (request) => appResponse(request.url, paths.rendererDir))

  // The page may name only folders chosen in a dialog this run, and the data folder.
  const grants = new PathGrants(userData)
  const engine = startEngine((p) => studio.emit('progress', p))
  const studio: Studio = new Studio({
    dataDir: userData,
    cacheDir: cacheDirOf(userData),
    engine,
    version: VERSION,
    desktop: true,
    pickFolder: async (purpose) => {
      const titles = {
        dataset: 'Choose a dataset folder',
        session: 'Open a session folder',
        export: 'Export the model into…',
        base: 'Choose a base model folder (TF.js model.json)'
      }
      const title = titles[purpose]
      const options: Electron.OpenDialogOptions = { title, properties: ['openDirectory', 'createDirectory'] }
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options)
      const chosen = r.canceled ? null : (r.filePaths[0] ?? null)
      if (chosen) grants.grant(chosen)
      return chosen
    }
  })
  studio.on((event, payload) => win?.webContents.send(channel(event), payload))
  registerStudioHandlers(ipcMain, studio, () => win?.webContents ?? null, target, grants)

  // Remembered size and position, unless the display it was on is gone.
  const displays = [screen.getPrimaryDisplay(), ...screen.getAllDisplays()]
  const bounds = fitBounds(
    loadBounds(userData),
    displays.map((d) => d.workArea)
  )
  win = new BrowserWindow(windowOptions(paths.preload, bounds, process.platform === 'linux' ? paths.icon : undefined))
  win.once('ready-to-show', () => {
    // maximize() would show the window early, so it waits for the first paint too.
    if (bounds.maximized) win?.maximize()
    win?.show()
  })
  win.on('close', () => {
    if (win) saveBounds(userData, { ...win.getNormalBounds(), maximized: win.isMaximized() })
  })
  win.on('closed', () => (win = null))

  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      menuTemplate((command) => studio.emit('menu', command), {
        isMac: process.platform === 'darwin',
        dev: !app.isPackaged,
        quit: () => app.quit()
      })
    )
  )
  // Quitting waits (a few seconds at most) for training to stop and the session to close.
  let stopped = false
  let stopping = false
  app.on('before-quit', (e) => {
    if (stopped) return
    e.preventDefault()
    if (stopping) return
    stopping = true
    void shutdown(studio, engine).finally(() => {
      stopped = true
      app.quit()
    })
  })
  await loadRenderer(win, target)
}
