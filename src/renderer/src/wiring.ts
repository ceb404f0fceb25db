// The one place that connects the studio's pushed events and the desktop menu to the
// stores. Stores never import the app store's dependants back (app imports no store,
// session imports app, replay imports app and session), so the stores form no cycle.
import type { MenuCommand } from '../../shared/contract'
import type { ErrorDto } from '../../shared/errors'
import { useApi } from './api/client'
import { useAppStore } from './stores/app'
import { useReplayStore } from './stores/replay'
import { useSessionStore } from './stores/session'

let unsubscribe: (() => void)[] = []

/** A desktop menu item: the renderer owns the flow. */
export async function runMenuCommand(command: MenuCommand): Promise<void> {
  const app = useAppStore()
  const session = useSessionStore()
  switch (command) {
    case 'new-session':
      app.closeDialog()
      app.go('start')
      await app.refreshSessions()
      return
    case 'open-session': {
      const dir = await app.pickFolder('session')
      if (dir) await session.open(dir)
      return
    }
    case 'export-model':
      if (!session.state) return app.notify('Open a session first: there is no model to export yet.')
      app.go('label')
      app.openDialog('export')
      return
    case 'replay':
      if (session.state) await useReplayStore().open(session.state.dir, app.view === 'replay' ? 'label' : app.view)
      else {
        app.go('start')
        app.notify('Choose a recent session and press Replay.')
      }
      return
    case 'undo':
      if (app.dialog === null) await session.undo()
      return
    case 'shortcuts':
      app.showHelpFromMenu()
      return
    case 'about':
      app.openDialog('about')
      return
  }
}

/** Subscribes to pushed events, loads info and recent sessions, and picks up a session already open on the server. */
export async function startStudio(): Promise<void> {
  const api = useApi()
  const app = useAppStore()
  const session = useSessionStore()
  for (const off of unsubscribe) off()
  unsubscribe = [
    api.on('session', (s) => session.applyState(s)),
    api.on('baseline', (b) => session.applyBaseline(b)),
    api.on('progress', (p) => app.onProgress(p)),
    api.on('error', (e: ErrorDto) => app.reportError(e)),
    api.on('menu', (c) => {
      void runMenuCommand(c)
    }),
    api.onConnection((c) => {
      app.connection = c
      if (c === 'lost' || c === 'gone') session.disconnected()
    }),
    api.onReconnect(() => {
      void session.reconnected()
    })
  ]
  app.connection = api.connection()
  try {
    const [info, current] = await Promise.all([api.info(), api.state()])
    app.info = info
    if (current) {
      session.adopt(current)
      if (app.view === 'start') app.go('label')
    }
  } catch (err) {
    app.reportError(err)
  }
  app.ready = true
  await app.refreshSessions()
}

/** Undoes startStudio when the app unmounts. */
export function stopStudio(): void {
  for (const off of unsubscribe) off()
  unsubscribe = []
  useAppStore().dispose()
  useReplayStore().pause()
}
