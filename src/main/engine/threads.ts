// Starts our worker threads from the build output, or from source (tests, tsx) via tsx, and ends them.
//
// Ending a thread: Worker.terminate() while the thread is inside ONNX Runtime's run (synchronous,
// on that thread) aborts the whole process when the run returns into the stopped thread (an
// uncaught Napi::Error in onnxruntime-node). So our threads are asked to leave and end themselves
// between messages, when no native call is on their stack; a thread ends the threads it started
// first, and does the same when it crashes. terminate() remains for a thread that does not answer
// the request in time (one stuck in its own code, whose threads are then idle).
import { parentPort, Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { setPriority } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const LEAVE = 'curator:leave'
/** The threads this thread started that are still running. */
const running = new Set<Worker>()
let leaving = false

/** The nice value of background threads: the renderer and the main thread (0) win the cores. */
export const BACKGROUND_NICE = 10
/** What a worker posts when it could not lower its priority. */
const PRIORITY_FAILED = 'curatorPriorityFailed'
let priorityFailureTold = false

export function startWorker(name: 'engine-worker' | 'featurize-worker' | 'train-worker' | 'logits-worker', workerData?: unknown): Worker {
  if (leaving) throw new Error('This thread is ending: it starts no more threads')
  const w = spawn(name, workerData)
  running.add(w)
  w.once('exit', () => running.delete(w))
  w.on('message', (m: unknown) => {
    if (!m || typeof m !== 'object' || !(PRIORITY_FAILED in m) || priorityFailureTold) return
    priorityFailureTold = true
    console.warn(`Curator: could not lower the priority of a ${name} thread (${String(m[PRIORITY_FAILED])}); it runs at normal priority`)
  })
  return w
}

function spawn(name: string, workerData: unknown): Worker {
  // Built: out/main/<name>.js, next to this chunk or one folder up (out/main/chunks/).
  for (const dir of [here, join(here, '..')]) {
    const file = join(dir, `${name}.js`)
    if (existsSync(file)) return new Worker(file, { workerData })
  }
  // From source: register tsx's CommonJS hook inside the thread, then load the TypeScript entry.
  const source = join(here, `${name}.ts`)
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(source)})`, { eval: true, workerData })
}

/** Asks a thread started by startWorker to end itself and waits until it has; terminates it if it has not within `timeoutMs`. */
export async function stopWorker(w: Worker, timeoutMs = 30_000): Promise<void> {
  if (!running.has(w)) return
  const exited = new Promise<void>((done) => w.once('exit', () => done()))
  const timer = setTimeout(() => void w.terminate(), timeoutMs)
  w.postMessage(LEAVE)
  await exited
  clearTimeout(timer)
}

/** Posts `message` to a thread and resolves with the reply `isReply` accepts; fails if the thread errs or ends first. */
export function request<R>(w: Worker, message: unknown, isReply: (m: R) => boolean): Promise<R> {
  return new Promise((resolve, reject) => {
    const settle = (finish: () => void) => {
      w.off('message', onMessage)
      w.off('error', onError)
      w.off('exit', onExit)
      finish()
    }
    const onMessage = (m: R) => isReply(m) && settle(() => resolve(m))
    const onError = (err: Error) => settle(() => reject(err))
    const onExit = () => settle(() => reject(new Error('The thread ended before it answered')))
    w.on('message', onMessage)
    w.on('error', onError)
    w.on('exit', onExit)
    w.postMessage(message)
  })
}

const stopAll = () => Promise.all([...running].map((w) => stopWorker(w)))

/** In a thread: `handle` gets the messages of the thread that started it, except the request to leave, which ends this thread. */
export function onParentMessage<T>(handle: (m: T) => unknown): void {
  parentPort!.on('message', (m: T | typeof LEAVE) => {
    if (m !== LEAVE) return void handle(m)
    leaving = true
    void stopAll().then(() => process.exit(0))
  })
  // A crash ends this thread's threads first, then goes on as it would have (the error reaches the starter).
  process.once('uncaughtException', (err) => {
    leaving = true
    void stopAll().then(() =>
      setImmediate(() => {
        throw err
      })
    )
  })
}

/**
 * In a worker thread: lowers this thread's scheduling priority, and so that of the threads it
 * starts afterwards (ONNX Runtime's), so a person's UI wins the cores. Linux only: there the
 * nice value is per thread (pid 0 is the calling thread); elsewhere it would be the whole
 * process's. Best-effort: a failure is told to the starting thread, which logs it once.
 */
export function runInBackground(): void {
  if (process.platform !== 'linux') return
  try {
    setPriority(0, BACKGROUND_NICE)
  } catch (err) {
    parentPort?.postMessage({ [PRIORITY_FAILED]: (err as Error).message })
  }
}
