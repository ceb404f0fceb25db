// The application menu. Items that act on the studio ask the renderer, which owns the flow:
// each sends a MenuCommand as the `menu` event.
import type { MenuItemConstructorOptions } from 'electron'
import type { MenuCommand } from '../../shared/contract'

export interface MenuOptions {
  isMac: boolean
  /** Development build: adds Toggle Developer Tools. */
  dev: boolean
  quit: () => void
}

export function menuTemplate(send: (c: MenuCommand) => void, opts: MenuOptions): MenuItemConstructorOptions[] {
  const item = (
    label: string,
    command: MenuCommand,
    accelerator?: string,
    extra: MenuItemConstructorOptions = {}
  ): MenuItemConstructorOptions => ({
    id: command,
    label,
    ...(accelerator ? { accelerator } : {}),
    click: () => send(command),
    ...extra
  })
  // Undo Label: the page handles Backspace and Ctrl/Cmd+Z itself, outside text fields only, so
  // the menu shows the key without registering it (a registered accelerator would take Ctrl+Z
  // away from text fields). macOS cannot show an unregistered accelerator, so there the item has
  // none, and the Edit menu carries the system's text Undo/Redo.
  const undoLabel = opts.isMac ? item('Undo Label', 'undo') : item('Undo Label', 'undo', 'CmdOrCtrl+Z', { registerAccelerator: false })
  const text: MenuItemConstructorOptions[] = [
    ...(opts.isMac ? [{ role: 'undo' as const }, { role: 'redo' as const }, { type: 'separator' as const }] : []),
    { role: 'cut' },
    { role: 'copy' },
    { role: 'paste' },
    { role: 'selectAll' }
  ]
  return [
    ...(opts.isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        item('New Session', 'new-session', 'CmdOrCtrl+N'),
        item('Open Session…', 'open-session', 'CmdOrCtrl+O'),
        { type: 'separator' },
        item('Export Model…', 'export-model', 'CmdOrCtrl+E'),
        item('Replay Session…', 'replay', 'CmdOrCtrl+R'),
        // On macOS Quit lives in the app menu (Cmd+Q).
        ...(opts.isMac ? [] : [{ type: 'separator' as const }, { id: 'quit', label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: opts.quit }])
      ]
    },
    { label: 'Edit', submenu: [undoLabel, { type: 'separator' }, ...text] },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn', accelerator: 'CmdOrCtrl+=' }, // the default (Plus) needs Shift on most layouts
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(opts.dev ? [{ type: 'separator' as const }, { role: 'toggleDevTools' as const }] : [])
      ]
    },
    {
      label: 'Help',
      // Not "?" itself: a bare printable key as an accelerator would stop it being typed. The page handles "?".
      submenu: [item('Keyboard Shortcuts', 'shortcuts', 'CmdOrCtrl+/'), { type: 'separator' }, item('About Curator', 'about')]
    }
  ]
}
