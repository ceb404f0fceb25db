// The main thread's handle on the engine thread: the same methods, as promises. A thread that
// stops (a crash, or terminate(): asked to leave, see threads.ts) never leaves a call waiting: every call it owed fails with
// ENGINE_STOPPED, and the next call starts a new thread. The new thread has no session open:
// `lost` counts the threads stopped, so the studio knows to open its session again.
import type { Worker } from 'node:worker_threads'
import { CuratorError } from '../../shared/errors'
import type { Progress } from '../../shared/progress'
import type { EngineMethods, EngineReply } from './protocol'
import { startWorker, stopWorker } from './threads'

export type EngineClient = {
  [M in keyof EngineMethods]: (...args: Parameters<EngineMethods[M]>) => Promise<Awaited<ReturnType<EngineMethods[M]>>>
} & {
  cancel(): void
  /** Stops the engine thread (calls it owes fail with ENGINE_STOPPED); a later call starts a new one. */
  terminate(): Promise<void>
  /** Engine threads stopped so far: when it changes, whatever the engine held (the open session) is gone. */
  readonly lost: number
}

/** How long the engine thread gets to end its training and featurizing threads and itself before it is terminated. */
const LEAVE_TIMEOUT_MS = 10_000

interface Pending {
  method: string
  resolve: (v: unknown) => void
  reject: (e: Error) => void
}

export function startEngine(onProgress: (p: Progress) => void): EngineClient {
  let thread: { worker: Worker; pending: Map<number, Pending> } | null = null
  let lost = 0
  let stopping = false
  let next = 1

  const spawn = () => {
    const worker = startWorker('engine-worker')
    const pending = new Map<number, Pending>()
    const t = { worker, pending }
    let crash: Error | null = null
    worker.on('message', (m: EngineReply) => {
      if ('progress' in m) return onProgress(m.progress)
      const call = pending.get(m.id)
      pending.delete(m.id)
      if (m.ok) call?.resolve(m.result)
      else call?.reject(new CuratorError(m.error.code, m.error.message))
    })
    // An uncaught error is followed by 'exit', which answers the calls.
    worker.on('error', (err) => (crash = err))
    worker.on('exit', (code) => {
      if (thread === t) thread = null
      lost++
      const why = stopping ? 'it was shut down' : crash ? `it crashed: ${crash.message}` : `it exited with code ${code}`
      for (const c of pending.values())
        c.reject(
          new CuratorError(
            'ENGINE_STOPPED',
            `The engine thread stopped before it finished ${c.method} (${why}); a new one starts with the next call`
          )
        )
      pending.clear()
    })
    // An idle engine must not keep the process alive; one that owes an answer must.
    worker.unref()
    return t
  }

  // Started now, so the backend loads while the window opens; again only when a call needs it.
  thread = spawn()
  const call =
    (method: keyof EngineMethods) =>
    (...args: unknown[]) => {
      const t = (thread ??= spawn())
      return new Promise((resolve, reject) => {
        const id = next++
        t.pending.set(id, { method, resolve, reject })
        t.worker.ref()
        t.worker.postMessage({ id, method, args })
      }).finally(() => t.pending.size === 0 && t.worker.unref())
    }
  return {
    backend: call('backend'),
    open: call('open'),
    iterate: call('iterate'),
    images: call('images'),
    baseline: call('baseline'),
    mistakes: call('mistakes'),
    pool: call('pool'),
    chosen: call('chosen'),
    why: call('why'),
    locate: call('locate'),
    exportModel: call('exportModel'),
    pretrain: call('pretrain'),
    close: call('close'),
    cancel: () => thread?.worker.postMessage({ cancel: true }),
    terminate: async () => {
      const t = thread
      if (!t) return
      stopping = true
      try {
        await stopWorker(t.worker, LEAVE_TIMEOUT_MS)
      } finally {
        stopping = false
      }
    },
    get lost() {
      return lost
    }
  } as EngineClient
}
