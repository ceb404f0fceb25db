// The renderer's only door to the main process: exactly the StudioApi methods, one IPC
// channel each, plus event subscription. No generic send or invoke is exposed.
import { contextBridge, ipcRenderer, IpcRendererEvent } from 'electron'
import { channel, EVENTS, EventName, MethodName, StudioApi, StudioEvents } from '../shared/contract'
import { CuratorError, ErrorDto } from '../shared/errors'

type Reply = { ok: true; result: unknown } | { ok: false; error: ErrorDto }

const call =
  <M extends MethodName>(method: M) =>
  async (...args: Parameters<StudioApi[M]>): Promise<Awaited<ReturnType<StudioApi[M]>>> => {
    const reply = (await ipcRenderer.invoke(channel(method), ...args)) as Reply
    if (!reply.ok) throw Object.assign(new CuratorError(reply.error.code, reply.error.message))
    return reply.result as Awaited<ReturnType<StudioApi[M]>>
  }

const studio: StudioApi & { on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void } = {
  info: call('info'),
  listSessions: call('listSessions'),
  newSession: call('newSession'),
  openSession: call('openSession'),
  label: call('label'),
  skip: call('skip'),
  undo: call('undo'),
  state: call('state'),
  replay: call('replay'),
  exportGif: call('exportGif'),
  exportModel: call('exportModel'),
  pickFolder: call('pickFolder'),
  cancel: call('cancel'),
  on(event, listener) {
    if (!EVENTS.includes(event)) throw new Error(`Unknown event ${String(event)}`)
    const wrapped = (_e: IpcRendererEvent, payload: unknown) => listener(payload as never)
    ipcRenderer.on(channel(event), wrapped)
    return () => ipcRenderer.removeListener(channel(event), wrapped)
  }
}

contextBridge.exposeInMainWorld('studio', studio)
