// Turns a dataset spec ('mnist', 'idx:PATH', 'folder:PATH') into a Dataset.
import { CuratorError } from '../../shared/errors'
import type { Dataset } from './dataset'
import { loadIdxDataset, loadMnist } from './mnist'

export interface LoadLimits {
  pool?: number
  test?: number
  seed?: number
}

export async function loadDataset(spec: string, limits: LoadLimits = {}): Promise<Dataset> {
  if (spec === 'mnist') return loadMnist(limits)
  if (spec.startsWith('idx:')) return loadIdxDataset(spec.slice(4), spec, limits)
  throw new CuratorError('BAD_ARGUMENT', `Unknown dataset "${spec}": use mnist, idx:PATH or folder:PATH`)
}
