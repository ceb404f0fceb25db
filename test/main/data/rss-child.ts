// Child process for bounded-inputs.test.ts: opens one input the way Curator does and prints
// {"error": message | null, "maxRssMiB": peak resident memory}, so the test can hold the
// reader to a memory ceiling without risking its own process. Usage: rss-child.ts idx|folder PATH,
// or rss-child.ts open FOLDER CACHE BASE: a session's open of a folder (decode, featurize, thumbnails).
import { readIdx } from '../../../src/main/data/idx'
import { loadFolderDataset } from '../../../src/main/data/folder'
import { initBackend } from '../../../src/main/engine/backend'
import { disposePrepared, prepare } from '../../../src/main/engine/setup'
import { DEFAULT_CONFIG } from '../../../src/shared/contract'

async function main(): Promise<void> {
  const [mode, path, cacheDir, baseDir] = process.argv.slice(2)
  let error: string | null = null
  let detail: unknown = null
  try {
    if (mode === 'idx') detail = readIdx(path).dims
    else if (mode === 'open') {
      const task = { ...DEFAULT_CONFIG.task, positiveClasses: ['square'] }
      const p = await prepare({ ...DEFAULT_CONFIG, dataset: `folder:${path}`, task }, { backend: await initBackend(), cacheDir, baseDir })
      const { pool, test } = p.dataset
      detail = { images: pool.count + (test?.count ?? 0), features: p.poolFeatures.count, thumbnailsOnDisk: pool.file !== undefined }
      disposePrepared(p)
    } else detail = (await loadFolderDataset(path, { cacheDir: null })).skipped
  } catch (err) {
    error = (err as Error).message
  }
  process.stdout.write(JSON.stringify({ error, detail, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n')
}

void main()
