// Child process for bounded-inputs.test.ts: opens one input the way Curator does and prints
// {"error": message | null, "maxRssMiB": peak resident memory}, so the test can hold the
// reader to a memory ceiling without risking its own process. Usage: rss-child.ts idx|folder PATH
import { readIdx } from '../../../src/main/data/idx'
import { loadFolderDataset } from '../../../src/main/data/folder'

async function main(): Promise<void> {
  const [mode, path] = process.argv.slice(2)
  let error: string | null = null
  let detail: unknown = null
  try {
    if (mode === 'idx') detail = readIdx(path).dims
    else detail = (await loadFolderDataset(path, { cacheDir: null })).skipped
  } catch (err) {
    error = (err as Error).message
  }
  process.stdout.write(JSON.stringify({ error, detail, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n')
}

void main()
