// Every call that crosses a process boundary is checked against the schema (src/shared/schema.ts)
// before it reaches the studio, so a malformed payload gets a typed BAD_ARGUMENT error, never a crash.
import type { StudioApi } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { parseCall, SchemaError } from '../../shared/schema'

export type CheckedCall = ReturnType<typeof parseCall>

/** Calls a studio method after validation; `guard` sees the checked call first and may refuse it by throwing. */
export async function dispatch(api: StudioApi, method: unknown, args: unknown, guard?: (call: CheckedCall) => void): Promise<unknown> {
  let call: CheckedCall
  try {
    call = parseCall(method, args)
  } catch (err) {
    if (err instanceof SchemaError) throw new CuratorError('BAD_ARGUMENT', err.message, { problems: err.problems })
    throw err
  }
  guard?.(call)
  return (api[call.method] as (...a: unknown[]) => Promise<unknown>).apply(api, call.args)
}
