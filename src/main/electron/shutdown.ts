// Quitting the desktop app: long work is asked to stop, the studio closes its session (the log
// flushed, the lock released), then the engine thread is stopped and waited for. A thread that
// does not get there within the timeout is stopped anyway. Plain Node: tested without Electron.
import type { EngineClient } from '../engine/client'
import type { Studio } from '../studio/studio'

/** How long quitting waits for training or featurizing to stop before it stops the thread. */
export const QUIT_TIMEOUT_MS = 5000

export async function shutdown(
  studio: Pick<Studio, 'close'>,
  engine: Pick<EngineClient, 'cancel' | 'terminate'>,
  timeoutMs = QUIT_TIMEOUT_MS
): Promise<'clean' | 'timeout'> {
  engine.cancel()
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'timeout'>((done) => (timer = setTimeout(() => done('timeout'), timeoutMs)))
  // A session that fails to close still lets the app quit.
  const closed = studio.close().then(
    () => 'clean' as const,
    () => 'clean' as const
  )
  const how = await Promise.race([closed, late])
  clearTimeout(timer)
  await engine.terminate()
  return how
}
