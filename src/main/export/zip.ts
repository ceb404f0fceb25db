// A minimal zip writer (deflate, no dependencies) so browser mode can offer a folder as one download.
import { crc32, deflateRawSync } from 'node:zlib'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** The regular files under `dir` (subfolders included, e.g. an export's images/), as sorted '/' paths. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix))
    .sort()
    .flatMap((f) => {
      const rel = prefix ? `${prefix}/${f}` : f
      const st = statSync(join(dir, rel))
      return st.isDirectory() ? filesUnder(dir, rel) : st.isFile() ? [rel] : []
    })
}

/** Zips the regular files inside `dir`, under the folder name `name/`. */
export function zipFolder(dir: string, name: string): Buffer {
  const local: Buffer[] = []
  const central: Buffer[] = []
  let offset = 0
  const files = filesUnder(dir)
  for (const file of files) {
    const data = readFileSync(join(dir, file))
    const packed = deflateRawSync(data)
    const path = Buffer.from(`${name}/${file}`, 'utf8')
    const crc = crc32(data)
    const header = Buffer.alloc(30)
    header.writeUInt32LE(0x04034b50, 0)
    header.writeUInt16LE(20, 4) // version needed
    header.writeUInt16LE(0x0800, 6) // UTF-8 names
    header.writeUInt16LE(8, 8) // deflate
    header.writeUInt32LE(crc, 14)
    header.writeUInt32LE(packed.length, 18)
    header.writeUInt32LE(data.length, 22)
    header.writeUInt16LE(path.length, 26)
    local.push(header, path, packed)
    const entry = Buffer.alloc(46)
    entry.writeUInt32LE(0x02014b50, 0)
    entry.writeUInt16LE(20, 4)
    entry.writeUInt16LE(20, 6)
    entry.writeUInt16LE(0x0800, 8)
    entry.writeUInt16LE(8, 10)
    entry.writeUInt32LE(crc, 16)
    entry.writeUInt32LE(packed.length, 20)
    entry.writeUInt32LE(data.length, 24)
    entry.writeUInt16LE(path.length, 28)
    entry.writeUInt32LE(offset, 42)
    central.push(entry, path)
    offset += header.length + path.length + packed.length
  }
  const dirSize = central.reduce((n, b) => n + b.length, 0)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(files.length, 8)
  end.writeUInt16LE(files.length, 10)
  end.writeUInt32LE(dirSize, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...local, ...central, end])
}
