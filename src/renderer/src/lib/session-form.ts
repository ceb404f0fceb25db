// The new-session form as plain data, and its validation into a SessionConfig.
import type { FitName, SessionConfig, StrategyName } from '../../../shared/contract'
import {
  numberFromText,
  parse,
  PretrainOptionsSchema,
  SchemaError,
  SessionConfigSchema,
  type PretrainOptions
} from '../../../shared/schema'

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
  /** Ask answers in doubt again. */
  reask: boolean
  /** Empty: the whole pool / test split. */
  poolLimit: number | string
  testLimit: number | string
}

export type FormErrors = Partial<Record<keyof SessionForm, string>>

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
    reask: c.reask !== false,
    poolLimit: c.poolLimit ?? '',
    testLimit: c.testLimit ?? ''
  }
}

const blank = (v: unknown): boolean => v === '' || v === null || v === undefined

const numberOf = numberFromText

export function parsePositiveClasses(s: string): string[] | null {
  const list = s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)
  return list.length ? [...new Set(list)] : null
}

/** The form field that shows a schema path's problem. */
const FIELD_OF: Record<string, keyof SessionForm> = {
  dataset: 'dataset',
  'task.question': 'question',
  'task.negative.name': 'negativeName',
  'task.negative.key': 'negativeKey',
  'task.positive.name': 'positiveName',
  'task.positive.key': 'positiveKey',
  'task.positiveClasses': 'positiveClasses',
  strategy: 'strategy',
  fit: 'fit',
  batchSize: 'batchSize',
  unfreeze: 'unfreeze',
  seed: 'seed',
  reask: 'reask',
  poolLimit: 'poolLimit',
  testLimit: 'testLimit'
}

/** Checks the form with the session-config schema, the same one the API and the log use. */
export function validateForm(f: SessionForm): { config: SessionConfig | null; errors: FormErrors } {
  const candidate = {
    dataset: f.dataset,
    task: {
      question: f.question,
      negative: { name: f.negativeName, key: f.negativeKey.trim() },
      positive: { name: f.positiveName, key: f.positiveKey.trim() },
      positiveClasses: parsePositiveClasses(f.positiveClasses)
    },
    strategy: f.strategy,
    fit: f.fit,
    batchSize: numberOf(f.batchSize),
    unfreeze: numberOf(f.unfreeze),
    seed: numberOf(f.seed),
    ...(f.reask ? {} : { reask: false }),
    ...(blank(f.poolLimit) ? {} : { poolLimit: numberOf(f.poolLimit) }),
    ...(blank(f.testLimit) ? {} : { testLimit: numberOf(f.testLimit) })
  }
  try {
    return { config: parse(SessionConfigSchema, candidate, '', true), errors: {} }
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err
    const errors: FormErrors = {}
    for (const p of err.problems) {
      const field = FIELD_OF[p.path.replace(/\[\d+\]$/, '')] ?? 'dataset'
      errors[field] ??= p.message
    }
    return { config: null, errors }
  }
}

export interface RetrainForm {
  epochs: number | string
  seed: number | string
  /** Empty: all 60,000 MNIST images. */
  images: number | string
}

/** The retrain form, checked with the same schema as the pretrainBase call. */
export function validateRetrainForm(f: RetrainForm): {
  options: PretrainOptions | null
  errors: Partial<Record<keyof RetrainForm, string>>
} {
  const candidate = { epochs: numberOf(f.epochs), seed: numberOf(f.seed), ...(blank(f.images) ? {} : { limit: numberOf(f.images) }) }
  try {
    return { options: parse(PretrainOptionsSchema, candidate, '', true), errors: {} }
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err
    const errors: Partial<Record<keyof RetrainForm, string>> = {}
    for (const p of err.problems) errors[p.path === 'limit' ? 'images' : (p.path as keyof RetrainForm)] ??= p.message
    return { options: null, errors }
  }
}
