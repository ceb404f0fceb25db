// Every call that crosses a process boundary is checked here before it reaches the studio,
// so a malformed payload gets a typed BAD_ARGUMENT error, never a crash.
import { FITS, MethodName, METHODS, PretrainOptions, SessionConfig, STRATEGIES, StudioApi } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'

const bad = (msg: string): never => {
  throw new CuratorError('BAD_ARGUMENT', msg)
}
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const str = (x: unknown, what: string, max = 4096): string => (typeof x === 'string' && x.length > 0 && x.length <= max ? x : bad(`${what} must be a non-empty string`))
const int = (x: unknown, what: string, min: number, max: number): number => (Number.isInteger(x) && (x as number) >= min && (x as number) <= max ? (x as number) : bad(`${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(x)}`))
const oneOf = <T extends string>(x: unknown, list: readonly T[], what: string): T => (list.includes(x as T) ? (x as T) : bad(`${what} must be one of ${list.join(', ')}, got ${JSON.stringify(x)}`))

function answer(x: unknown, what: string) {
  if (!isObj(x)) bad(`${what} must be an object`)
  const a = x as Record<string, unknown>
  const key = str(a.key, `${what}.key`, 1)
  return { name: str(a.name, `${what}.name`, 64), key: key.toLowerCase() }
}

export function validateConfig(x: unknown): SessionConfig {
  if (!isObj(x)) bad('config must be an object')
  const c = x as Record<string, unknown>
  if (!isObj(c.task)) bad('config.task must be an object')
  const t = c.task as Record<string, unknown>
  const positiveClasses = t.positiveClasses === null ? null : Array.isArray(t.positiveClasses) ? t.positiveClasses.map((v, i) => str(v, `config.task.positiveClasses[${i}]`, 256)) : bad('config.task.positiveClasses must be a list of class names or null')
  const task = { question: str(t.question, 'config.task.question', 500), negative: answer(t.negative, 'config.task.negative'), positive: answer(t.positive, 'config.task.positive'), positiveClasses }
  if (task.negative.key === task.positive.key) bad('the two answers need different keys')
  const config: SessionConfig = {
    dataset: str(c.dataset, 'config.dataset'),
    task,
    strategy: oneOf(c.strategy, STRATEGIES, 'config.strategy'),
    fit: oneOf(c.fit, FITS, 'config.fit'),
    batchSize: int(c.batchSize, 'config.batchSize', 1, 64),
    unfreeze: int(c.unfreeze, 'config.unfreeze', 0, 4),
    seed: int(c.seed, 'config.seed', 0, 2 ** 31 - 1)
  }
  if (c.poolLimit !== undefined && c.poolLimit !== null) config.poolLimit = int(c.poolLimit, 'config.poolLimit', 1, 1e8)
  if (c.testLimit !== undefined && c.testLimit !== null) config.testLimit = int(c.testLimit, 'config.testLimit', 1, 1e8)
  return config
}

export function validatePretrainOptions(x: unknown): PretrainOptions {
  if (!isObj(x)) bad('pretrain options must be an object')
  const o = x as Record<string, unknown>
  const options: PretrainOptions = { epochs: int(o.epochs, 'epochs', 1, 50), seed: int(o.seed, 'seed', 0, 2 ** 31 - 1) }
  if (o.limit !== undefined && o.limit !== null) options.limit = int(o.limit, 'limit', 128, 60000)
  return options
}

const optional = <T>(x: unknown, check: (x: unknown) => T): T | undefined => (x === undefined || x === null ? undefined : check(x))

const validators: { [M in MethodName]: (a: unknown[]) => Parameters<StudioApi[M]> } = {
  info: () => [],
  listSessions: () => [],
  state: () => [],
  undo: () => [],
  newSession: (a) => [validateConfig(a[0])],
  openSession: (a) => [str(a[0], 'session folder')],
  replay: (a) => [str(a[0], 'session folder')],
  label: (a) => [int(a[0], 'image id', 0, 2 ** 31 - 1), oneOf(a[1] as never, [0, 1] as unknown as string[], 'label') as unknown as 0 | 1, typeof a[2] === 'number' && Number.isFinite(a[2]) && a[2] >= 0 ? a[2] : bad('responseMs must be a number >= 0')],
  skip: (a) => [int(a[0], 'image id', 0, 2 ** 31 - 1)],
  exportGif: (a) => [str(a[0], 'session folder'), optional(a[1], (x) => str(x, 'output file'))],
  exportModel: (a) => [optional(a[0], (x) => str(x, 'output folder')), optional(a[1], (x) => (typeof x === 'boolean' ? x : bad('force must be true or false')))],
  pickFolder: (a) => [oneOf(a[0], ['dataset', 'session', 'export'] as const, 'purpose')],
  cancel: (a) => [str(a[0], 'task', 200)],
  pretrainBase: (a) => [validatePretrainOptions(a[0])]
}

/** Checks a method name and its arguments; returns the arguments in their typed form. */
export function validateCall(method: unknown, args: unknown): { method: MethodName; args: unknown[] } {
  if (!METHODS.includes(method as MethodName)) bad(`unknown method ${JSON.stringify(method)}`)
  if (!Array.isArray(args)) bad('arguments must be a list')
  const m = method as MethodName
  const expected = validators[m].length === 0 ? 0 : undefined
  if ((args as unknown[]).length > 3 || (expected === 0 && (args as unknown[]).length > 0)) bad(`${m} takes ${expected ?? 'fewer'} arguments`)
  return { method: m, args: validators[m](args as unknown[]) }
}

/** Calls a studio method after validation. */
export function dispatch(api: StudioApi, method: unknown, args: unknown): Promise<unknown> {
  const call = validateCall(method, args)
  return (api[call.method] as (...a: unknown[]) => Promise<unknown>).apply(api, call.args)
}
