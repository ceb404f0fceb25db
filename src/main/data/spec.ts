// Dataset specs: 'mnist', 'idx:PATH', 'folder:PATH', each optionally followed by options that
// shape the data, '?maxSide=128&testFraction=0.2&splitSeed=3'. A Dataset's id is its spec with
// every option that applied, so the session records them and loadDataset(id) repeats them.
import { existsSync } from 'node:fs'
import { CuratorError } from '../../shared/errors'
import { MIN_SIDE } from './dataset'

export interface SpecOptions {
  /** Folder datasets: downscale images whose longer side exceeds this (default 256). */
  maxSide?: number
  /** Share of each class held out as the test split, when the dataset has none (default 0.2). */
  testFraction?: number
  /** Seed of that split (default: the session's seed). */
  splitSeed?: number
}

const KEYS = ['maxSide', 'testFraction', 'splitSeed'] as const
const OPTIONS_TAIL = /^[A-Za-z]+=[^&=]*(&[A-Za-z]+=[^&=]*)*$/

/** Splits 'PATH?k=v&k=v' into the path and its options; a '?' that belongs to an existing path stays in it. */
export function parseSpecOptions(rest: string, kind: string): { path: string; options: SpecOptions } {
  const q = rest.lastIndexOf('?')
  if (q < 0 || !OPTIONS_TAIL.test(rest.slice(q + 1)) || existsSync(rest)) return { path: rest, options: {} }
  const options: SpecOptions = {}
  for (const pair of rest.slice(q + 1).split('&')) {
    const [key, value] = pair.split('=')
    if (!(KEYS as readonly string[]).includes(key))
      throw new CuratorError('BAD_ARGUMENT', `Unknown ${kind} dataset option "${key}": use ${KEYS.join(', ')}`)
    const n = Number(value)
    if (key === 'maxSide') {
      if (!Number.isInteger(n) || n < MIN_SIDE || n > 4096)
        throw new CuratorError('BAD_ARGUMENT', `maxSide must be a whole number from ${MIN_SIDE} to 4096, got "${value}"`)
      options.maxSide = n
    } else if (key === 'testFraction') {
      if (value === '' || !Number.isFinite(n) || n < 0 || n >= 1)
        throw new CuratorError('BAD_ARGUMENT', `testFraction must be a number from 0 to below 1, got "${value}"`)
      options.testFraction = n
    } else {
      if (value === '' || !Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1)
        throw new CuratorError('BAD_ARGUMENT', `splitSeed must be a whole number >= 0, got "${value}"`)
      options.splitSeed = n
    }
  }
  return { path: rest.slice(0, q), options }
}

/** 'kind:PATH?k=v...' with the options given (in a fixed order), or 'kind:PATH' when there are none. */
export function formatSpec(kind: string, path: string, options: SpecOptions): string {
  const parts = KEYS.filter((k) => options[k] !== undefined).map((k) => `${k}=${options[k]}`)
  return `${kind}:${path}${parts.length ? `?${parts.join('&')}` : ''}`
}

/** The file or folder a dataset spec names ('idx:PATH', 'folder:PATH'), or null ('mnist', anything else). */
export function datasetPath(spec: string): string | null {
  for (const kind of ['idx', 'folder']) if (spec.startsWith(`${kind}:`)) return parseSpecOptions(spec.slice(kind.length + 1), kind).path
  return null
}
