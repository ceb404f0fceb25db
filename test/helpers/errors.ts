import { expect } from 'vitest'
import { CuratorError, ErrorCode } from '../../src/shared/errors'

/** Runs fn and checks it throws a CuratorError with this code and a message matching re. */
export function expectCuratorError(fn: () => unknown, code: ErrorCode, re: RegExp): CuratorError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught, 'expected a CuratorError to be thrown').toBeInstanceOf(CuratorError)
  const e = caught as CuratorError
  expect(e.code).toBe(code)
  expect(e.message).toMatch(re)
  return e
}

export async function expectCuratorErrorAsync(fn: () => Promise<unknown>, code: ErrorCode, re: RegExp): Promise<CuratorError> {
  let caught: unknown
  try {
    await fn()
  } catch (err) {
    caught = err
  }
  expect(caught, 'expected a CuratorError to be thrown').toBeInstanceOf(CuratorError)
  const e = caught as CuratorError
  expect(e.code).toBe(code)
  expect(e.message).toMatch(re)
  return e
}
