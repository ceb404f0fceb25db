// The `curator` command line: the same engine, studio and files the desktop app uses.
import { parseArgs } from 'node:util'
import type { GenericSchema } from 'valibot'
import { CuratorError } from '../../shared/errors'
import { CLI_FIELDS, CONFIG_FIELDS, numberFromText } from '../../shared/schema'
import { cliParse } from './output'
import { pretrainCommand } from './pretrain'
import { benchCommand } from './bench'
import { benchFolderCommand } from './bench-folder'
import { serveCommand } from './serve'
import { parseFit, parseSeeds, parseStrategies, simulateCommand } from './simulate'
import { replayCommand } from './replay'
import { exportCommand } from './export'
import { predictCommand } from './predict'
import { tensorboardCommand } from './tensorboard'

const HELP = `curator - teach a pretrained image model a new task from a handful of labels

Usage: curator <command> [options]

Commands:
  pretrain   Train the base digit CNN on MNIST        [--epochs 5] [--seed 1] [--out DIR] [--log-every 50]
             (TensorBoard files in DIR/tensorboard: loss and accuracy per epoch and every N batches)
  simulate   Label from ground truth and report accuracy per iteration
             [--strategy diverse|uncertainty|random|seed-window|all|A,B] [--batch 4]
             [--budget 120] [--seed 1 | 1-5 | 1,2,3] [--noise 0] [--unfreeze 0] [--fit converge|original]
             [--dataset mnist|idx:PATH|folder:PATH] [--positive 1,3,5,7,9] [--labels even,odd]
             [--pool-limit N] [--test-limit N] [--json]
             [--noise P]      the labeller presses the wrong key with chance P (0 to 0.5), a seeded
                              draw per answer, re-asks included; --budget counts every answer
             [--session DIR]  record the run as a session (one strategy and one seed only)
             [--base DIR]     a TF.js layers model folder as the frozen base (see curator-base.json)
  replay     Show a session's iterations, rebuild and verify them, export a GIF, replay what-ifs
             SESSION [--verify] [--gif FILE [--force]] [--strategy S] [--seed N] [--base DIR] [--json]
             --verify: rebuild the model from the log and compare every iteration; exits
                       non-zero naming the first iteration that differs
             --gif FILE: write the session as an animated GIF, one frame per iteration; an
                       existing file is replaced only if Curator wrote it (--force: any file
                       outside a session folder)
             --strategy/--seed: replay the recorded answers in order under another strategy
                       or seed (it cannot ask new images) and report accuracy per iteration
             --base DIR: where the session's base model is, if not in the data folder
  tensorboard
             Rebuild a session's TensorBoard event files from its log (any session)
             SESSION [--out DIR] [--base DIR] [--json]   (default DIR: SESSION/tensorboard)
  bench      Measure iteration latency, the naive baseline, featurizing and pretraining
             [--iterations 30] [--naive-subset 2000] [--featurize-images 70000] [--json]
             [--reference torch|none]  also measure PyTorch on the same network in this run
                       (scripts/torch-reference.py with /usr/bin/python3, or CURATOR_PYTHON)
             [--large-pool N]  also featurize (cached) and iterate on N shifted MNIST images
             [--serve-memory yes|no]  memory of a curator serve process with the 70k pool open
  bench-folder
             Write a folder to a temp folder (MNIST digits as 28x28 PNGs, or 640x480 JPEGs), then
             measure opening it cold (scan + decode + featurize, images/s, against the featurizer
             alone) and again from the caches (s), each open's peak memory, and iterations on it
             [--images 10000 | --photos N] [--base DIR] [--dir DIR (kept)] [--iterations 40] [--json]
             --open FOLDER --cache DIR [--base DIR] [--iterations 40]: the cached re-open and the
                              iterations alone, in this process [--rules N] (the head's rules, default
                              the newest) [--records FILE] (every iteration's record but its time)
  serve      Browser mode: serve the studio on this machine
             [--port P] [--host 127.0.0.1] [--data-dir DIR] [--session DIR] [--base DIR]
             the port and token of the last run on the data folder are kept (an open tab reconnects); --port 0: any free port
  export     Write a session's model folder (ONNX + TF.js model, metadata, labels, log, README with a model card)
             --session DIR --out DIR [--force] [--with-images] [--json] [--base DIR]
             --out may be a new or an empty folder; --force: replace an earlier export there (your other files stay)
             --with-images: copy the labelled images into images/<answer>/
             --base DIR: where the session's base model is, if not in the data folder
  predict    Load an exported model folder and print P(positive) per image
             --model DIR IMAGE... [--json]   IMAGE: a PNG or JPEG file, or idx:FILE[:N]
                       (the first N images of an IDX images file)
  help       Show this help

Run 'curator <command> --help' for the options of one command.`

type Options = Record<string, string | boolean | undefined>
const { budget, epochs, pretrainLimit, port, count, seconds, noise } = CLI_FIELDS
const { batchSize, unfreeze, seed, poolLimit, testLimit } = CONFIG_FIELDS

/** A numeric flag checked by its schema rule, the same one the API, the form and the log use. */
function flag<S extends GenericSchema<unknown, number>>(o: Options, name: string, schema: S): number | undefined
function flag<S extends GenericSchema<unknown, number>>(o: Options, name: string, schema: S, def: number): number
function flag(o: Options, name: string, schema: GenericSchema<unknown, number>, def?: number): number | undefined {
  const v = o[name]
  return v === undefined ? def : cliParse(schema, numberFromText(v), `--${name}`)
}

const yesNo = (v: unknown, name: string): boolean => {
  if (v === undefined || v === 'yes') return true
  if (v === 'no') return false
  throw new CuratorError('BAD_ARGUMENT', `--${name} must be yes or no, got "${v}"`)
}

const referenceOption = (v: unknown): boolean => {
  if (v === undefined || v === 'torch') return true
  if (v === 'none') return false
  throw new CuratorError('BAD_ARGUMENT', `--reference must be torch or none, got "${v}"`)
}

const commands: Record<
  string,
  { options: Record<string, { type: 'string' | 'boolean' }>; run: (o: Options, rest: string[]) => Promise<void> }
> = {
  pretrain: {
    options: {
      epochs: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      limit: { type: 'string' },
      'log-every': { type: 'string' }
    },
    run: (o) =>
      pretrainCommand({
        epochs: flag(o, 'epochs', epochs, 5),
        seed: flag(o, 'seed', seed, 1),
        out: o.out as string | undefined,
        limit: flag(o, 'limit', pretrainLimit),
        logEvery: flag(o, 'log-every', count)
      })
  },
  bench: {
    options: {
      json: { type: 'boolean' },
      iterations: { type: 'string' },
      'naive-subset': { type: 'string' },
      'featurize-images': { type: 'string' },
      'pretrain-batches': { type: 'string' },
      reference: { type: 'string' },
      'reference-seconds': { type: 'string' },
      'large-pool': { type: 'string' },
      'serve-memory': { type: 'string' }
    },
    run: (o) =>
      benchCommand({
        json: Boolean(o.json),
        iterations: flag(o, 'iterations', count, 30),
        naiveSubset: flag(o, 'naive-subset', count, 2000),
        featurizeImages: flag(o, 'featurize-images', count, 70000),
        pretrainBatches: flag(o, 'pretrain-batches', count, 10),
        reference: referenceOption(o.reference),
        referenceSeconds: flag(o, 'reference-seconds', seconds, 3),
        largePool: flag(o, 'large-pool', count, 0),
        serveMemory: yesNo(o['serve-memory'], 'serve-memory')
      })
  },
  'bench-folder': {
    options: {
      json: { type: 'boolean' },
      images: { type: 'string' },
      photos: { type: 'string' },
      base: { type: 'string' },
      dir: { type: 'string' },
      iterations: { type: 'string' },
      // Internal: the child process that opens the folder once.
      open: { type: 'string' },
      cache: { type: 'string' },
      rules: { type: 'string' },
      records: { type: 'string' }
    },
    run: (o) =>
      benchFolderCommand({
        json: Boolean(o.json),
        images: flag(o, 'images', count),
        photos: flag(o, 'photos', count),
        base: o.base as string | undefined,
        dir: o.dir as string | undefined,
        iterations: flag(o, 'iterations', count),
        open: o.open as string | undefined,
        cache: o.cache as string | undefined,
        rules: flag(o, 'rules', count),
        records: o.records as string | undefined
      })
  },
  serve: {
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      session: { type: 'string' },
      base: { type: 'string' }
    },
    run: async (o) => {
      const running = await serveCommand({
        port: flag(o, 'port', port),
        host: (o.host as string | undefined) ?? '127.0.0.1',
        dataDir: o['data-dir'] as string | undefined,
        session: o.session as string | undefined,
        base: o.base as string | undefined
      })
      await new Promise<void>((done) => {
        const stop = () => void running.close().then(done)
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
    }
  },
  simulate: {
    options: {
      strategy: { type: 'string' },
      batch: { type: 'string' },
      budget: { type: 'string' },
      seed: { type: 'string' },
      noise: { type: 'string' },
      unfreeze: { type: 'string' },
      fit: { type: 'string' },
      json: { type: 'boolean' },
      dataset: { type: 'string' },
      positive: { type: 'string' },
      labels: { type: 'string' },
      'pool-limit': { type: 'string' },
      'test-limit': { type: 'string' },
      session: { type: 'string' },
      base: { type: 'string' }
    },
    run: (o) =>
      simulateCommand({
        strategies: parseStrategies(o.strategy as string | undefined),
        seeds: parseSeeds(o.seed as string | undefined),
        batch: flag(o, 'batch', batchSize, 4),
        budget: flag(o, 'budget', budget, 120),
        noise: flag(o, 'noise', noise, 0),
        unfreeze: flag(o, 'unfreeze', unfreeze, 0),
        fit: parseFit(o.fit as string | undefined),
        json: Boolean(o.json),
        dataset: (o.dataset as string | undefined) ?? 'mnist',
        positive: o.positive ? String(o.positive).split(',') : undefined,
        labels: o.labels ? pair(String(o.labels)) : undefined,
        poolLimit: flag(o, 'pool-limit', poolLimit),
        testLimit: flag(o, 'test-limit', testLimit),
        session: o.session as string | undefined,
        base: o.base as string | undefined
      })
  },
  export: {
    options: {
      session: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      'with-images': { type: 'boolean' },
      json: { type: 'boolean' },
      base: { type: 'string' }
    },
    run: (o, rest) => {
      if (rest.length) throw new CuratorError('BAD_ARGUMENT', `export takes no positional arguments, got: ${rest.join(' ')}`)
      return exportCommand({
        session: o.session as string | undefined,
        out: o.out as string | undefined,
        force: Boolean(o.force),
        withImages: Boolean(o['with-images']),
        json: Boolean(o.json),
        base: o.base as string | undefined
      })
    }
  },
  predict: {
    options: { model: { type: 'string' }, json: { type: 'boolean' } },
    run: (o, rest) => predictCommand({ model: o.model as string | undefined, inputs: rest, json: Boolean(o.json) })
  },
  tensorboard: {
    options: { out: { type: 'string' }, base: { type: 'string' }, json: { type: 'boolean' } },
    run: (o, rest) => {
      if (rest.length > 1)
        throw new CuratorError('BAD_ARGUMENT', `tensorboard takes one session folder, got ${rest.length}: ${rest.join(' ')}`)
      return tensorboardCommand({
        session: rest[0],
        out: o.out as string | undefined,
        base: o.base as string | undefined,
        json: Boolean(o.json)
      })
    }
  },
  replay: {
    options: {
      verify: { type: 'boolean' },
      gif: { type: 'string' },
      force: { type: 'boolean' },
      strategy: { type: 'string' },
      seed: { type: 'string' },
      base: { type: 'string' },
      json: { type: 'boolean' }
    },
    run: (o, rest) => {
      if (rest.length > 1) throw new CuratorError('BAD_ARGUMENT', `replay takes one session folder, got ${rest.length}: ${rest.join(' ')}`)
      return replayCommand({
        session: rest[0],
        verify: Boolean(o.verify),
        gif: o.gif as string | undefined,
        force: Boolean(o.force),
        strategy: o.strategy as string | undefined,
        seed: flag(o, 'seed', seed),
        base: o.base as string | undefined,
        json: Boolean(o.json)
      })
    }
  }
}

/** One command's lines of HELP: its name line and the indented option lines under it. */
export function commandHelp(name: string): string {
  const lines = HELP.split('\n')
  const start = lines.findIndex((l) => new RegExp(`^  ${name}(\\s|$)`).test(l))
  let end = start + 1
  while (end < lines.length && /^ {4,}\S/.test(lines[end])) end++
  const body = lines
    .slice(start, end)
    .map((l) => l.replace(/^ {2}/, ''))
    .join('\n')
  return `Usage: curator ${name} [options]\n\n${body}\n\nRun 'curator help' for every command.`
}

function pair(v: string): [string, string] {
  const parts = v.split(',')
  if (parts.length !== 2 || parts.some((p) => !p)) throw new CuratorError('BAD_ARGUMENT', `--labels must be NEGATIVE,POSITIVE, got "${v}"`)
  return [parts[0], parts[1]]
}

/** "--budget -5" as "--budget=-5": a negative number is a flag's value, so the schema can refuse it by name. */
const joinNegativeValues = (args: string[]): string[] =>
  args.flatMap((a, i) =>
    /^-\d/.test(a) && /^--[\w-]+$/.test(args[i - 1] ?? '')
      ? []
      : /^--[\w-]+$/.test(a) && /^-\d/.test(args[i + 1] ?? '')
        ? [`${a}=${args[i + 1]}`]
        : [a]
  )

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(HELP)
    return 0
  }
  const cmd = commands[name]
  if (!cmd) {
    console.error(`Unknown command "${name}".\n\n${HELP}`)
    return 2
  }
  try {
    let parsed: ReturnType<typeof parseArgs>
    try {
      parsed = parseArgs({ args: joinNegativeValues(rest), options: { ...cmd.options, help: { type: 'boolean' } }, allowPositionals: true })
    } catch (err) {
      // Node's own message for an unknown or valueless option, as one line and a usage error.
      throw new CuratorError('BAD_ARGUMENT', `${(err as Error).message.split(/\n|\. To specify/)[0]} (see curator ${name} --help)`)
    }
    const { values, positionals } = parsed
    if (values.help) {
      console.log(commandHelp(name))
      return 0
    }
    // Hold the process until the command is done: the engine thread is unref'd while idle, so a command
    // awaiting other work between engine calls would otherwise end with exit 0 and nothing done.
    const hold = setInterval(() => {}, 1 << 30)
    try {
      await cmd.run(values as Options, positionals)
    } finally {
      clearInterval(hold)
    }
    return 0
  } catch (err) {
    console.error(`curator ${name}: ${(err as Error).message}`)
    return err instanceof CuratorError ? 2 : 1
  }
}

if (require.main === module || process.env.CURATOR_CLI === '1') {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}
