// The renderer's only door to the main process: exactly the StudioApi methods, one IPC
// channel each, plus event subscription. No generic send or invoke is exposed.
import { contextBridge, ipcRenderer, IpcRendererEvent } from 'electron'
import { channel, EVENTS, MethodName, StudioBridge } from '../shared/contract'

// The reply crosses contextBridge as plain data (a thrown Error would keep only its message);
// the renderer's client turns a failed one into an ApiError with its code and details.
const call = <M extends MethodName>(method: M): StudioBridge[M] =>
  ((...args: unknown[]) => ipcRenderer.invoke(channel(method), ...args)) as StudioBridge[M]

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
  inspectDataset: call('inspectDataset'),
  listFolders: call('listFolders'),
  cancel: call('cancel'),
  pretrainBase: call('pretrainBase'),
  mistakes: call('mistakes'),
  pool: call('pool'),
  why: call('why'),
  choose: call('choose'),
  chooseBase: call('chooseBase'),
  relabel: call('relabel'),
  images: call('images'),
  on(event, listener) {
    if (!EVENTS.includes(event)) throw new Error(`Unknown event ${String(event)}`)
    const wrapped = (_e: IpcRendererEvent, payload: unknown) => listener(payload as never)
    ipcRenderer.on(channel(event), wrapped)
    return () => ipcRenderer.removeListener(channel(event), wrapped)
  }
}

contextBridge.exposeInMainWorld('studio', studio)
