// The new-session form as plain data, and its validation into a SessionConfig.
import { FITS, STRATEGIES, type FitName, type SessionConfig, type StrategyName } from '../../../shared/contract'

export interface SessionForm {
  dataset: string
  question: string
  negativeName: string
  negativeKey: string
  positiveName: string
  positiveKey: string
  /** Comma separated; empty means no ground truth mapping. */
  positiveClasses: string
  strategy: StrategyName
  fit: FitName
  batchSize: number | string
  unfreeze: number | string
  seed: number | string
  /** Empty: the whole pool / test split. */
  poolLimit: number | string
  testLimit: number | string
}

export type FormErrors = Partial<Record<keyof SessionForm, string>>

/** Keys the labelling view already uses for something else. */
export const RESERVED_KEYS = ['s', 'g', '?', '0', '1', ' ']

export function formFromConfig(c: SessionConfig): SessionForm {
  return {
    dataset: c.dataset,
    question: c.task.question,
    negativeName: c.task.negative.name,
    negativeKey: c.task.negative.key,
    positiveName: c.task.positive.name,
    positiveKey: c.task.positive.key,
    positiveClasses: (c.task.positiveClasses ?? []).join(', '),
    strategy: c.strategy,
    fit: c.fit,
    batchSize: c.batchSize,
    unfreeze: c.unfreeze,
    seed: c.seed,
    poolLimit: c.poolLimit ?? '',
    testLimit: c.testLimit ?? ''
  }
}

const blank = (v: unknown): boolean => v === '' || v === null || v === undefined

function int(v: number | string, min: number, max: number): number | null {
  const s = String(v).trim()
  if (!/^-?\d+$/.test(s)) return null
  const n = Number(s)
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : null
}

export function parsePositiveClasses(s: string): string[] | null {
  const list = s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)
  return list.length ? [...new Set(list)] : null
}

export function validateForm(f: SessionForm): { config: SessionConfig | null; errors: FormErrors } {
  const errors: FormErrors = {}
  const dataset = f.dataset.trim()
  if (!dataset) errors.dataset = 'Choose a dataset: mnist, idx:PATH or folder:PATH.'
  const question = f.question.trim()
  if (!question) errors.question = 'Ask a yes/no question.'
  const negName = f.negativeName.trim()
  const posName = f.positiveName.trim()
  if (!negName) errors.negativeName = 'Name the negative answer.'
  if (!posName) errors.positiveName = 'Name the positive answer.'
  if (negName && negName === posName) errors.positiveName = 'The two answers need different names.'
  const negKey = f.negativeKey.trim().toLowerCase()
  const posKey = f.positiveKey.trim().toLowerCase()
  const keyError = (k: string): string | undefined =>
    [...k].length !== 1 ? 'One character.' : RESERVED_KEYS.includes(k) ? `“${k.toUpperCase()}” is taken (S skip, G guesses, 0/1 answers, ? help).` : undefined
  const nk = keyError(negKey)
  const pk = keyError(posKey)
  if (nk) errors.negativeKey = nk
  if (pk) errors.positiveKey = pk
  if (!nk && !pk && negKey === posKey) errors.positiveKey = 'The two answers need different keys.'
  if (!(STRATEGIES as readonly string[]).includes(f.strategy)) errors.strategy = 'Pick a strategy.'
  if (!(FITS as readonly string[]).includes(f.fit)) errors.fit = 'Pick a fit.'
  const batchSize = int(f.batchSize, 1, 256)
  if (batchSize === null) errors.batchSize = 'A whole number from 1 to 256.'
  const unfreeze = int(f.unfreeze, 0, 3)
  if (unfreeze === null) errors.unfreeze = 'From 0 to 3.'
  const seed = int(f.seed, 0, 2 ** 31 - 1)
  if (seed === null) errors.seed = 'A whole number ≥ 0.'
  const poolLimit = blank(f.poolLimit) ? undefined : int(f.poolLimit, 1, 1e9)
  if (poolLimit === null) errors.poolLimit = 'Empty, or a whole number ≥ 1.'
  const testLimit = blank(f.testLimit) ? undefined : int(f.testLimit, 1, 1e9)
  if (testLimit === null) errors.testLimit = 'Empty, or a whole number ≥ 1.'
  if (Object.keys(errors).length) return { config: null, errors }
  const config: SessionConfig = {
    dataset,
    task: {
      question,
      negative: { name: negName, key: negKey },
      positive: { name: posName, key: posKey },
      positiveClasses: parsePositiveClasses(f.positiveClasses)
    },
    strategy: f.strategy,
    fit: f.fit,
    batchSize: batchSize!,
    unfreeze: unfreeze!,
    seed: seed!
  }
  if (poolLimit !== undefined && poolLimit !== null) config.poolLimit = poolLimit
  if (testLimit !== undefined && testLimit !== null) config.testLimit = testLimit
  return { config, errors }
}
