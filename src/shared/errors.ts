// Every failure the user can cause has a code, so the UI and the CLI can say exactly what went wrong.
export type ErrorCode =
  | 'BAD_ARGUMENT'
  | 'BAD_DATA'
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'NOT_WRITABLE'
  | 'DISK_FULL'
  | 'NO_SESSION'
  | 'CANCELLED'
  | 'FORBIDDEN'
  | 'INTERNAL'

export class CuratorError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string
  ) {
    super(message)
    this.name = 'CuratorError'
  }
}

/** The serialisable form of any error, as it crosses IPC or the WebSocket. */
export interface ErrorDto {
  code: ErrorCode
  message: string
}

export function toErrorDto(err: unknown): ErrorDto {
  if (err instanceof CuratorError) return { code: err.code, message: err.message }
  const e = err as { code?: string; message?: string } | undefined
  if (e?.code === 'ENOSPC') return { code: 'DISK_FULL', message: `The disk is full: ${e.message}` }
  if (e?.code === 'EACCES' || e?.code === 'EPERM' || e?.code === 'EROFS') return { code: 'NOT_WRITABLE', message: e.message ?? 'not writable' }
  if (e?.code === 'ENOENT') return { code: 'NOT_FOUND', message: e.message ?? 'not found' }
  return { code: 'INTERNAL', message: e?.message ?? String(err) }
}
