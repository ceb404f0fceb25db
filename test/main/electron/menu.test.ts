// The application menu: the items and keys issue 6 lists; DevTools only in development.
import { describe, expect, it } from 'vitest'
import type { MenuItemConstructorOptions } from 'electron'
import type { MenuCommand } from '../../../src/shared/contract'
import { menuTemplate, MenuOptions } from '../../../src/main/electron/menu'

type Item = MenuItemConstructorOptions
const build = (opts: Partial<MenuOptions> = {}) => {
  const sent: MenuCommand[] = []
  let quits = 0
  const menu = menuTemplate((c) => sent.push(c), { isMac: false, dev: false, quit: () => quits++, ...opts })
  return { menu, sent, quits: () => quits }
}
const sub = (menu: Item[], label: string): Item[] => {
  const top = menu.find((m) => m.label === label)
  expect(top, `menu ${label}`).toBeDefined()
  return top!.submenu as Item[]
}
const all = (items: Item[]): Item[] => items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? all(i.submenu) : [])])
const click = (i: Item) => (i.click as unknown as () => void)()

describe('application menu', () => {
  it('File: New session, Open session, Export model…, Replay session…, Quit, with their keys', () => {
    const { menu, sent, quits } = build()
    const file = sub(menu, 'File').filter((i) => i.type !== 'separator')
    expect(file.map((i) => [i.label, i.accelerator])).toEqual([
      ['New Session', 'CmdOrCtrl+N'],
      ['Open Session…', 'CmdOrCtrl+O'],
      ['Export Model…', 'CmdOrCtrl+E'],
      ['Replay Session…', 'CmdOrCtrl+R'],
      ['Quit', 'CmdOrCtrl+Q']
    ])
    for (const i of file) click(i)
    expect(sent).toEqual(['new-session', 'open-session', 'export-model', 'replay'])
    expect(quits()).toBe(1)
  })
  it('Edit: Undo label (Ctrl+Z shown, handled by the page so text fields keep it), and the text commands', () => {
    const { menu, sent } = build()
    const edit = sub(menu, 'Edit')
    expect(edit[0]).toMatchObject({ label: 'Undo Label', accelerator: 'CmdOrCtrl+Z', registerAccelerator: false })
    click(edit[0])
    expect(sent).toEqual(['undo'])
    expect(edit.map((i) => i.role).filter(Boolean)).toEqual(['cut', 'copy', 'paste', 'selectAll'])
  })
  it('View: zoom, full screen; Toggle DevTools in development only', () => {
    const roles = (dev: boolean) =>
      sub(build({ dev }).menu, 'View')
        .map((i) => i.role)
        .filter(Boolean)
    expect(roles(false)).toEqual(['resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen'])
    expect(roles(true)).toEqual(['resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen', 'toggleDevTools'])
    for (const isMac of [false, true])
      expect(
        all(build({ isMac, dev: false }).menu).some((i) => /devtools/i.test(String(i.role ?? i.label ?? ''))),
        `mac ${isMac}`
      ).toBe(false)
  })
  it('Help: Keyboard shortcuts, About', () => {
    const { menu, sent } = build()
    const help = sub(menu, 'Help').filter((i) => i.type !== 'separator')
    expect(help.map((i) => [i.label, i.accelerator])).toEqual([
      ['Keyboard Shortcuts', 'CmdOrCtrl+/'],
      ['About Curator', undefined]
    ])
    for (const i of help) click(i)
    expect(sent).toEqual(['shortcuts', 'about'])
  })
  it('macOS: the app menu holds Quit; Undo Label registers no key, text Undo/Redo are in Edit', () => {
    const { menu } = build({ isMac: true })
    expect(menu[0].role).toBe('appMenu')
    expect(sub(menu, 'File').some((i) => i.label === 'Quit')).toBe(false)
    const edit = sub(menu, 'Edit')
    expect(edit[0].label).toBe('Undo Label')
    expect(edit[0].accelerator).toBeUndefined()
    expect(edit.map((i) => i.role).filter(Boolean)).toEqual(['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll'])
  })
  it('no registered key is one a user types into a text field (a bare or shifted printable key)', () => {
    for (const isMac of [false, true]) {
      for (const i of all(build({ isMac, dev: true }).menu)) {
        if (!i.accelerator || i.registerAccelerator === false) continue
        const a = String(i.accelerator)
        const hasModifier = /(^|\+)(CmdOrCtrl|CommandOrControl|Cmd|Command|Ctrl|Control|Alt|Option|AltGr|Super|Meta)\+/i.test(a)
        expect(hasModifier || /^F\d{1,2}$/.test(a), `${i.label}: ${a}`).toBe(true)
      }
    }
  })
  it('every command is reachable, each exactly once, with a stable id', () => {
    const items = all(build().menu).filter((i) => i.id && i.id !== 'quit')
    expect(items.map((i) => i.id).sort()).toEqual(['about', 'export-model', 'new-session', 'open-session', 'replay', 'shortcuts', 'undo'])
  })
})
