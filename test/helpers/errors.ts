import { expect } from 'vitest'
import { CuratorError, ErrorCode } from '../../src/shared/errors'

/** Runs fn and checks it throws a CuratorError with this code and a message matching re. */
export function expectCuratorError(fn: () => unknown, code: ErrorCode, re: RegExp): CuratorError {
  try {
    fn()
  } catch (err) {
    return checkCuratorError(err, code, re)
  }
  return checkCuratorError(undefined, code, re)
}

export async function expectCuratorErrorAsync(fn: () => Promise<unknown>, code: ErrorCode, re: RegExp): Promise<CuratorError> {
  try {
    await fn()
  } catch (err) {
    return checkCuratorError(err, code, re)
  }
  return checkCuratorError(undefined, code, re)
}

function checkCuratorError(caught: unknown, code: ErrorCode, re: RegExp): CuratorError {
  expect(caught, 'expected a CuratorError to be thrown').toBeInstanceOf(CuratorError)
  const e = caught as CuratorError
  expect(e.code).toBe(code)
  expect(e.message).toMatch(re)
  return e
}
