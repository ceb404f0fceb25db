// One ipcMain.handle per contract method; every call is checked for its sender, its arguments
// and the paths it names (grants.ts) before it reaches the studio.
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron'
import { channel, METHODS, Reply, StudioApi } from '../../shared/contract'
import { CuratorError, toErrorDto } from '../../shared/errors'
import { dispatch } from '../studio/validate'
import type { PathGrants } from './grants'
import { isTrustedSender, RendererTarget } from './security'

export function registerStudioHandlers(
  ipc: Pick<IpcMain, 'handle'>,
  studio: StudioApi,
  appContents: () => Pick<WebContents, 'mainFrame'> | null,
  target: RendererTarget,
  grants: PathGrants
): void {
  for (const method of METHODS) {
    ipc.handle(channel(method), async (event: Pick<IpcMainInvokeEvent, 'senderFrame'>, ...args: unknown[]): Promise<Reply> => {
      try {
        if (!isTrustedSender(event.senderFrame, appContents(), target))
          throw new CuratorError('FORBIDDEN', 'IPC from a frame that is not the app')
        return { ok: true, result: await dispatch(studio, method, args, (call) => grants.check(call)) }
      } catch (err) {
        // Errors cross IPC as data, so their code survives.
        return { ok: false, error: toErrorDto(err) }
      }
    })
  }
}
