// The application menu. Items that act on the studio ask the renderer, which owns the flow.
import type { MenuItemConstructorOptions } from 'electron'
import type { MenuCommand } from '../../shared/contract'

export function menuTemplate(send: (c: MenuCommand) => void, opts: { isMac: boolean; dev: boolean; quit: () => void }): MenuItemConstructorOptions[] {
  const item = (label: string, command: MenuCommand, accelerator?: string): MenuItemConstructorOptions => ({ label, accelerator, click: () => send(command) })
  return [
    ...(opts.isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        item('New Session', 'new-session', 'CmdOrCtrl+N'),
        item('Open Session…', 'open-session', 'CmdOrCtrl+O'),
        item('Export Model…', 'export-model', 'CmdOrCtrl+E'),
        item('Replay Session…', 'replay', 'CmdOrCtrl+R'),
        { type: 'separator' },
        { label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: opts.quit }
      ]
    },
    // Undo goes to the renderer: Backspace/Ctrl+Z in text fields must stay text editing.
    { label: 'Edit', submenu: [item('Undo Label', 'undo'), { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(opts.dev ? [{ role: 'toggleDevTools' as const }] : [])
      ]
    },
    { label: 'Help', submenu: [item('Keyboard Shortcuts', 'shortcuts', 'Shift+/'), item('About Curator', 'about')] }
  ]
}
