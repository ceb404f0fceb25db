// What a dataset spec holds, read cheaply for the start screen before Start: a folder's class
// names (its first-level subfolders holding images) and image files by extension, counted from
// the directory listing alone (no image is opened); an IDX set's classes from its label files.
import type { DatasetPreview } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { scanFolder } from './folder'
import { DIGIT_NAMES, idxFilesOf, mnistDir, findIdxFiles } from './mnist'
import { readIdx } from './idx'
import { parseSpecOptions } from './spec'

export async function previewDataset(spec: string): Promise<DatasetPreview> {
  if (spec === 'mnist') {
    const files = findIdxFiles(mnistDir())
    const counts = labelCounts([files.trainLabels, files.testLabels!])
    return {
      dataset: spec,
      kind: 'mnist',
      classNames: DIGIT_NAMES,
      classCounts: counts,
      images: sum(counts),
      unlabelled: 0,
      skipped: 0,
      problem: null
    }
  }
  if (spec.startsWith('idx:')) {
    const files = idxFilesOf(parseSpecOptions(spec.slice(4), 'idx').path)
    const counts = labelCounts([files.trainLabels, ...(files.testLabels && files.testImages ? [files.testLabels] : [])])
    return {
      dataset: spec,
      kind: 'idx',
      classNames: counts.map((_, i) => String(i)),
      classCounts: counts,
      images: sum(counts),
      unlabelled: 0,
      skipped: 0,
      problem: null
    }
  }
  if (spec.startsWith('folder:')) {
    const { path } = parseSpecOptions(spec.slice(7), 'folder')
    const scan = await scanFolder(path)
    const byClass = new Map<string, number>()
    let unlabelled = 0
    for (const f of scan.files) {
      if (f.folder === null) unlabelled++
      else byClass.set(f.folder, (byClass.get(f.folder) ?? 0) + 1)
    }
    // In the order loadFolderDataset numbers them.
    const names = [...byClass.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const problem = !scan.files.length
      ? `No PNG or JPEG images in ${path}${scan.skipped.length ? ` (${scan.skipped.length} other files)` : ''}`
      : names.length === 1
        ? `All images with a class are in one subfolder ("${names[0]}"): ground truth needs at least two classes, or none`
        : null
    return {
      dataset: spec,
      kind: 'folder',
      classNames: names.length ? names : null,
      classCounts: names.map((n) => byClass.get(n)!),
      images: scan.files.length,
      unlabelled,
      skipped: scan.skipped.length,
      problem
    }
  }
  throw new CuratorError('BAD_ARGUMENT', `Unknown dataset "${spec}": use mnist, idx:PATH or folder:PATH`)
}

/** Images per label value, 0..max, over the label files. */
function labelCounts(files: string[]): number[] {
  const counts: number[] = []
  for (const f of files) for (const c of readIdx(f).data) counts[c] = (counts[c] ?? 0) + 1
  return Array.from(counts, (c) => c ?? 0)
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0)
