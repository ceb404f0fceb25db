// Turns a dataset spec ('mnist', 'idx:PATH', 'folder:PATH') into a Dataset.
import { CuratorError } from '../../shared/errors'
import type { Progress } from '../../shared/progress'
import type { InputSpec } from '../../shared/base-spec'
import type { Dataset } from './dataset'
import { FolderDecoder, loadFolderDataset } from './folder'
import { idxFilesOf, loadIdxDataset, loadMnist } from './mnist'
import { formatSpec, parseSpecOptions } from './spec'
import { TEST_FRACTION } from './split'

export interface LoadLimits {
  pool?: number
  test?: number
  /** Seed of the held-out split drawn for sets without one (a spec's splitSeed wins). */
  seed?: number
  /** Folder datasets: longest side kept (default 256; a spec's maxSide wins). */
  maxSide?: number
  /** Where decoded folders are cached (`<cacheDir>/datasets`); null: no cache. Default: the user cache folder. */
  cacheDir?: string | null
  /** The base's input: folder images are brought to its size as they are decoded. */
  input?: Pick<InputSpec, 'size' | 'fit'>
  /** Folder datasets: progress of scanning and decoding (task 'scan'). */
  onProgress?: (p: Progress) => void
  /** Checked between images; true cancels the load with a CANCELLED error. */
  shouldStop?: () => boolean
  /** Folder datasets: decodes the files (default: in this process). */
  decoder?: FolderDecoder
}

export async function loadDataset(spec: string, limits: LoadLimits = {}): Promise<Dataset> {
  if (spec === 'mnist') return loadMnist(limits)
  if (spec.startsWith('idx:')) {
    const { path, options } = parseSpecOptions(spec.slice(4), 'idx')
    if (options.maxSide !== undefined) throw new CuratorError('BAD_ARGUMENT', 'maxSide applies to folder datasets, not idx')
    const split = { testFraction: options.testFraction ?? TEST_FRACTION, seed: options.splitSeed ?? limits.seed ?? 1 }
    const ds = loadIdxDataset(idxFilesOf(path), spec, { pool: limits.pool, test: limits.test, split })
    // The id records the split when one was drawn here (the set had no test files).
    return { ...ds, id: formatSpec('idx', path, ds.split ? { testFraction: ds.split.testFraction, splitSeed: ds.split.seed } : {}) }
  }
  if (spec.startsWith('folder:')) {
    const { path, options } = parseSpecOptions(spec.slice(7), 'folder')
    const { input, ...rest } = limits
    return loadFolderDataset(path, {
      ...rest,
      resize: input?.size && input.fit !== 'none' ? { size: input.size, fit: input.fit } : null,
      maxSide: options.maxSide ?? limits.maxSide,
      testFraction: options.testFraction,
      seed: options.splitSeed ?? limits.seed
    })
  }
  throw new CuratorError('BAD_ARGUMENT', `Unknown dataset "${spec}": use mnist, idx:PATH or folder:PATH`)
}
