// The main thread's handle on the engine thread: the same methods, as promises.
import type { Worker } from 'node:worker_threads'
import { CuratorError } from '../../shared/errors'
import type { Progress } from '../../shared/progress'
import type { EngineMethods, EngineReply } from './protocol'
import { startWorker } from './threads'

export type EngineClient = {
  [M in keyof EngineMethods]: (...args: Parameters<EngineMethods[M]>) => Promise<Awaited<ReturnType<EngineMethods[M]>>>
} & {
  cancel(): void
  terminate(): Promise<void>
}

export function startEngine(onProgress: (p: Progress) => void): EngineClient {
  const worker: Worker = startWorker('engine-worker')
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let next = 1
  worker.on('message', (m: EngineReply) => {
    if ('progress' in m) return onProgress(m.progress)
    const call = pending.get(m.id)
    pending.delete(m.id)
    if (m.ok) call?.resolve(m.result)
    else call?.reject(new CuratorError(m.error.code, m.error.message))
  })
  worker.on('error', (err) => {
    for (const c of pending.values()) c.reject(new CuratorError('INTERNAL', `The engine thread crashed: ${err.message}`))
    pending.clear()
  })
  // An idle engine must not keep the process alive; one that owes an answer must.
  worker.unref()
  const settle = () => pending.size === 0 && worker.unref()
  const call =
    (method: keyof EngineMethods) =>
    (...args: unknown[]) =>
      new Promise((resolve, reject) => {
        const id = next++
        pending.set(id, { resolve, reject })
        worker.ref()
        worker.postMessage({ id, method, args })
      }).finally(settle)
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
    cancel: () => worker.postMessage({ cancel: true }),
    terminate: async () => {
      await worker.terminate()
    }
  } as EngineClient
}
