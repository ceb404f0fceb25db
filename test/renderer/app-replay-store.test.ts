import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setApi } from '../../src/renderer/src/api/client'
import { useAppStore } from '../../src/renderer/src/stores/app'
import { STEP_MS, useReplayStore } from '../../src/renderer/src/stores/replay'
import { useSessionStore } from '../../src/renderer/src/stores/session'
import { DEFAULT_CONFIG } from '../../src/shared/contract'
import { FakeStudio, INFO, replayDto } from './fake-studio'
import { runMenuCommand, startStudio, stopStudio } from '../../src/renderer/src/wiring'

let fake: FakeStudio

beforeEach(() => {
  setActivePinia(createPinia())
  fake = new FakeStudio()
  setApi(fake)
})
afterEach(() => {
  stopStudio()
  vi.useRealTimers()
})

describe('app store', () => {
  it('init loads info and recent sessions and subscribes to every event', async () => {
    fake.sessions = [
      { id: 'a', dir: '/a', createdAt: '2020-01-01T00:00:00Z', dataset: 'mnist', strategy: 'diverse', labels: 12, lastAccuracy: 0.9 }
    ]
    const app = useAppStore()
    await startStudio()
    expect(app.info?.backend).toBe('wasm')
    expect(app.sessions.map((s) => s.id)).toEqual(['a'])
    for (const e of ['session', 'progress', 'error', 'menu'] as const) expect(fake.listenerCount(e)).toBe(1)
    expect(app.view).toBe('start')
  })

  it('init picks up a session already open on the server', async () => {
    fake.makeSession()
    const app = useAppStore()
    await startStudio()
    expect(app.view).toBe('label')
    expect(useSessionStore().batch).toHaveLength(4)
  })

  it('shows error events as toasts, and cancellation as information', async () => {
    const app = useAppStore()
    await startStudio()
    fake.emit('error', { code: 'INTERNAL', message: 'The engine worker stopped' })
    fake.emit('error', { code: 'CANCELLED', message: 'Featurizing cancelled' })
    expect(app.toasts.map((t) => [t.kind, t.message])).toEqual([
      ['error', 'The engine worker stopped'],
      ['info', 'Featurizing cancelled']
    ])
    app.dismissToast(app.toasts[0].id)
    expect(app.toasts).toHaveLength(1)
  })

  it('collapses repeated toasts and lets them expire', async () => {
    vi.useFakeTimers()
    const app = useAppStore()
    app.reportError(new Error('same'))
    app.reportError(new Error('same'))
    expect(app.toasts).toHaveLength(1)
    expect(app.toasts[0].count).toBe(2)
    vi.advanceTimersByTime(31_000)
    expect(app.toasts).toHaveLength(0)
  })

  it('tracks progress per task, clears finished work, and cancels through the api', async () => {
    vi.useFakeTimers()
    const app = useAppStore()
    await startStudio()
    fake.emit('progress', { task: 'featurize pool', done: 10, total: 100, rate: 50, etaSeconds: 1.8 })
    fake.emit('progress', { task: 'featurize pool', done: 40, total: 100, rate: 50, etaSeconds: 1.2 })
    expect(app.progress).toHaveLength(1)
    expect(app.progress[0].done).toBe(40)
    await app.cancel('featurize pool')
    expect(fake.callsOf('cancel')).toEqual([['featurize pool']])
    fake.emit('progress', { task: 'featurize pool', done: 100, total: 100, rate: 50, etaSeconds: 0 })
    vi.advanceTimersByTime(2000)
    expect(app.progress).toHaveLength(0)
  })

  it('carries out desktop menu commands', async () => {
    const app = useAppStore()
    fake.info_ = { ...INFO, desktop: true }
    await startStudio()
    fake.emit('menu', 'about')
    expect(app.dialog).toBe('about')
    fake.emit('menu', 'export-model')
    await Promise.resolve()
    expect(app.toasts.at(-1)?.message).toMatch(/Open a session first/)
    await useSessionStore().start(DEFAULT_CONFIG)
    app.closeDialog()
    useSessionStore().answer(1)
    await runMenuCommand('undo')
    expect(fake.callsOf('undo')).toHaveLength(1)
    await runMenuCommand('export-model')
    expect(app.dialog).toBe('export')
    await runMenuCommand('new-session')
    expect(app.view).toBe('start')
    expect(app.dialog).toBeNull()
    await runMenuCommand('open-session')
    expect(fake.callsOf('pickFolder')).toEqual([['session']])
    expect(fake.callsOf('openSession')).toEqual([['/picked/session']])
  })

  it('browser mode: pickFolder opens the folder browser and resolves with its answer; another dialog cancels it', async () => {
    const app = useAppStore()
    await startStudio()
    const first = app.pickFolder('dataset', '/home/me/photos')
    expect(app.dialog).toBe('folders')
    expect(app.folderPick).toMatchObject({ purpose: 'dataset', start: '/home/me/photos' })
    app.finishFolderPick('/home/me/photos/cats')
    expect(await first).toBe('/home/me/photos/cats')
    expect(app.dialog).toBeNull()
    const second = app.pickFolder('session')
    app.openDialog('help')
    expect(await second).toBeNull()
    expect(app.folderPick).toBeNull()
    expect(fake.callsOf('pickFolder')).toEqual([])
  })
})

describe('replay store', () => {
  it('opens a session’s replay and steps within bounds', async () => {
    fake.replayDto = replayDto(4)
    const r = useReplayStore()
    expect(await r.open('/tmp/sessions/sess-r', 'label')).toBe(true)
    expect(fake.callsOf('replay')).toEqual([['/tmp/sessions/sess-r']])
    expect(useAppStore().view).toBe('replay')
    expect(r.count).toBe(4)
    expect(r.index).toBe(0)
    expect(r.history).toHaveLength(1)
    r.stepBy(1)
    r.stepBy(1)
    expect(r.index).toBe(2)
    // the charts see the history as it was at that step
    expect(r.history.map((h) => h.iteration)).toEqual([0, 1, 2])
    r.stepBy(5)
    expect(r.index).toBe(3)
    r.stepBy(-10)
    expect(r.index).toBe(0)
    r.seek(2.4)
    expect(r.index).toBe(2)
    r.close()
    expect(useAppStore().view).toBe('label')
  })

  it('plays to the end and stops; play at the end restarts', async () => {
    vi.useFakeTimers()
    fake.replayDto = replayDto(3)
    const r = useReplayStore()
    await r.open('/s')
    r.play()
    expect(r.playing).toBe(true)
    vi.advanceTimersByTime(STEP_MS)
    expect(r.index).toBe(1)
    vi.advanceTimersByTime(STEP_MS)
    expect(r.index).toBe(2)
    expect(r.playing).toBe(false)
    r.toggle()
    expect(r.index).toBe(0)
    expect(r.playing).toBe(true)
    r.setSpeed(4)
    vi.advanceTimersByTime(STEP_MS / 4)
    expect(r.index).toBe(1)
    r.toggle()
    expect(r.playing).toBe(false)
  })

  it('replaying another session leaves the open one as it is (the studio keeps it open)', async () => {
    fake.replayDto = replayDto(2)
    const session = useSessionStore()
    await session.start(DEFAULT_CONFIG)
    const open = session.state
    await useReplayStore().open('/another/session')
    expect(session.state).toBe(open)
  })

  it('exports a GIF and keeps the folder and the file name, as the studio returns them', async () => {
    fake.replayDto = replayDto(2)
    const r = useReplayStore()
    await r.open('/tmp/s')
    await r.exportGif()
    expect(fake.callsOf('exportGif')).toEqual([['/tmp/s']])
    expect(r.gif?.files).toEqual(['session.gif'])
  })

  it('reports a session that cannot be replayed', async () => {
    const r = useReplayStore()
    expect(await r.open('/missing')).toBe(false)
    expect(useAppStore().toasts[0]).toMatchObject({ code: 'NOT_FOUND' })
    expect(useAppStore().view).toBe('start')
  })
})
