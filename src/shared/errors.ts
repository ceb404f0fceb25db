// Every failure the user can cause has a code (ERROR_CODES in schema.ts), so the UI and the CLI
// can say exactly what went wrong.
import { ERROR_CODES, SchemaError, type ErrorCode, type ErrorDto } from './schema'

export { ERROR_CODES }
export type { ErrorCode, ErrorDto }

export class CuratorError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>
  ) {
    super(message)
    this.name = 'CuratorError'
  }
}

export const isErrorCode = (c: unknown): c is ErrorCode => typeof c === 'string' && (ERROR_CODES as readonly string[]).includes(c)

export function toErrorDto(err: unknown): ErrorDto {
  if (err instanceof CuratorError)
    return err.details ? { code: err.code, message: err.message, details: err.details } : { code: err.code, message: err.message }
  if (err instanceof SchemaError) return { code: 'BAD_ARGUMENT', message: err.message, details: { problems: err.problems } }
  const e = err as { code?: string; message?: string } | undefined
  if (e?.code === 'ENOSPC') return { code: 'DISK_FULL', message: `The disk is full: ${e.message}` }
  if (e?.code === 'EACCES' || e?.code === 'EPERM' || e?.code === 'EROFS')
    return { code: 'NOT_WRITABLE', message: e.message ?? 'not writable' }
  if (e?.code === 'ENOENT') return { code: 'NOT_FOUND', message: e.message ?? 'not found' }
  return { code: 'INTERNAL', message: e?.message ?? String(err) }
}
