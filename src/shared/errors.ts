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
  const code = errnoCode(e?.code)
  const message = e?.message ?? String(err)
  return { code: code ?? 'INTERNAL', message: code === 'DISK_FULL' ? `The disk is full: ${message}` : message }
}

/** The one mapping of file-system errors (Node's errno codes) to ours; null for any other. */
export function errnoCode(errno: string | undefined): ErrorCode | null {
  switch (errno) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'DISK_FULL'
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'ENOTDIR':
    case 'EISDIR':
      return 'NOT_WRITABLE'
    case 'EEXIST':
      return 'EXISTS'
    case 'ENOENT':
      return 'NOT_FOUND'
    default:
      return null
  }
}
