// The shipped base model: where it lives and what it is.
import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CuratorError } from '../../shared/errors'
import { readRegularFile } from '../files/read'
import type { BaseMetadata } from './pretrain'

/** resources/models/mnist-cnn, found from the source tree, the build output or a packaged app. */
export function defaultBaseDir(): string {
  const env = process.env.CURATOR_BASE_MODEL
  if (env) return env
  const candidates = [
    join((process as { resourcesPath?: string }).resourcesPath ?? '', 'models', 'mnist-cnn'),
    resolve(__dirname, '../../resources/models/mnist-cnn'),
    resolve(__dirname, '../../../resources/models/mnist-cnn'),
    resolve(process.cwd(), 'resources/models/mnist-cnn')
  ]
  return candidates.find((d) => existsSync(join(d, 'model.json'))) ?? candidates[candidates.length - 1]
}

export function readBaseMetadata(dir: string): BaseMetadata {
  try {
    return JSON.parse(readRegularFile(join(dir, 'metadata.json'), join(dir, 'metadata.json'), { maxBytes: 16 << 20 }).toString('utf8'))
  } catch (err) {
    throw new CuratorError('NOT_FOUND', `No base model metadata in ${dir}: ${(err as Error).message}`)
  }
}

/** Base models retrained into a data folder (<dataDir>/models/*, from the start screen). */
export function retrainedBases(dataDir: string): string[] {
  const models = join(dataDir, 'models')
  return existsSync(models) ? readdirSync(models).filter((n) => !n.startsWith('.')).map((n) => join(models, n)) : []
}

/** The first folder holding the base model with this hash, or null. */
export function findBase(hash: string, dirs: string[]): string | null {
  for (const dir of dirs) {
    try {
      if (readBaseMetadata(dir).hash === hash) return dir
    } catch {
      // Not a base model folder.
    }
  }
  return null
}
