// One ipcMain.handle per contract method; every call is checked for its sender and arguments.
import type { IpcMain, WebContents } from 'electron'
import { channel, METHODS } from '../../shared/contract'
import { CuratorError, toErrorDto } from '../../shared/errors'
import type { Studio } from '../studio/studio'
import { dispatch } from '../studio/validate'
import { isTrustedSender } from './security'

export function registerStudioHandlers(ipc: IpcMain, studio: Studio, appContents: () => WebContents | null, devUrl?: string): void {
  for (const method of METHODS) {
    ipc.handle(channel(method), async (event, ...args) => {
      try {
        if (!isTrustedSender(event.senderFrame, appContents(), devUrl)) throw new CuratorError('FORBIDDEN', 'IPC from a frame that is not the app')
        return { ok: true, result: await dispatch(studio, method, args) }
      } catch (err) {
        // Errors cross IPC as data, so their code survives.
        return { ok: false, error: toErrorDto(err) }
      }
    })
  }
}
