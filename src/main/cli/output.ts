import type { GenericSchema, InferOutput } from 'valibot'
import { CuratorError } from '../../shared/errors'
import { parse, SchemaError } from '../../shared/schema'
import { Progress, formatProgress } from '../../shared/progress'
import { backendNotice, initBackend } from '../engine/backend'

/** Loads the TF.js backend and says on stderr which one runs, and why when it is not native. */
export async function startBackend(): Promise<string> {
  const name = await initBackend()
  printBackend({ name, notice: backendNotice() })
  return name
}

/** The first line of every command: the backend in use (this thread's or the engine thread's). */
export function printBackend(b: { name: string; notice: string | null }): void {
  process.stderr.write(`TF.js backend: ${b.name}${b.notice ? ` (${b.notice})` : ''}\n`)
}

/** Prints progress on one stderr line, at most once a second, and ends the line when done. */
export function progressPrinter(): (p: Progress) => void {
  let last = 0
  return (p) => {
    const now = Date.now()
    const finished = p.done >= p.total
    if (now - last < 1000 && !finished) return
    last = now
    process.stderr.write(`\r${formatProgress(p)}   ${finished ? '\n' : ''}`)
  }
}

/** Parses a flag's value with its schema rule; a refusal is a CuratorError, so it prints as one line with exit code 2. */
export function cliParse<S extends GenericSchema>(schema: S, value: unknown, name: string): InferOutput<S> {
  try {
    return parse(schema, value, name)
  } catch (err) {
    if (err instanceof SchemaError) throw new CuratorError('BAD_ARGUMENT', err.message, { problems: err.problems })
    throw err
  }
}
