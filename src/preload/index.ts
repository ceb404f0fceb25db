// The renderer's only door to the main process: exactly the StudioApi methods, one IPC
// channel each, plus event subscription. No generic send or invoke is exposed.
import { contextBridge, ipcRenderer, IpcRendererEvent } from 'electron'
import { channel, EVENTS, MethodName, StudioApi, StudioBridge } from '../shared/contract'
import type { ErrorDto } from '../shared/errors'

type Reply = { ok: true; result: unknown } | { ok: false; error: ErrorDto }

const call =
  <M extends MethodName>(method: M) =>
  async (...args: Parameters<StudioApi[M]>): Promise<Awaited<ReturnType<StudioApi[M]>>> => {
    const reply = (await ipcRenderer.invoke(channel(method), ...args)) as Reply
    // contextBridge keeps only an Error's message, so the code travels in it: "CODE: message".
    if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`)
    return reply.result as Awaited<ReturnType<StudioApi[M]>>
  }

const studio: StudioBridge = {
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
  pretrainBase: call('pretrainBase'),
  mistakes: call('mistakes'),
  pool: call('pool'),
  choose: call('choose'),
  chooseBase: call('chooseBase'),
  on(event, listener) {
    if (!EVENTS.includes(event)) throw new Error(`Unknown event ${String(event)}`)
    const wrapped = (_e: IpcRendererEvent, payload: unknown) => listener(payload as never)
    ipcRenderer.on(channel(event), wrapped)
    return () => ipcRenderer.removeListener(channel(event), wrapped)
  }
}

contextBridge.exposeInMainWorld('studio', studio)
