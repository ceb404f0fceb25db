import { unzipSync } from 'fflate'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { zipFolder } from '../../../src/main/export/zip'

const root = mkdtempSync(join(tmpdir(), 'curator-zip-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** The DOS date and time of the zip's first local entry, as a Date in local time. */
function firstEntryTime(zip: Buffer): Date {
  const time = zip.readUInt16LE(10)
  const date = zip.readUInt16LE(12)
  return new Date(1980 + (date >> 9), ((date >> 5) & 15) - 1, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2)
}

describe('zipFolder', () => {
  it('packs every regular file under the folder name, nested folders included, and unzips to the same bytes', () => {
    const dir = join(root, 'export')
    mkdirSync(join(dir, 'images', 'odd'), { recursive: true })
    writeFileSync(join(dir, 'README.md'), '# model\n'.repeat(200))
    writeFileSync(join(dir, 'weights.bin'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256)))
    writeFileSync(join(dir, 'images', 'odd', 'seven 7.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]))
    writeFileSync(join(dir, 'images', 'odd', 'é ünïcode.png'), 'x')
    const files = unzipSync(zipFolder(dir, 'abc'))
    expect(Object.keys(files).sort()).toEqual([
      'abc/README.md',
      'abc/images/odd/seven 7.png',
      'abc/images/odd/é ünïcode.png',
      'abc/weights.bin'
    ])
    for (const [name, bytes] of Object.entries(files)) expect(Buffer.from(bytes)).toEqual(readFileSync(join(dir, name.slice(4))))
  })

  it("stores each file's modification time, not 1980", () => {
    const dir = join(root, 'dated')
    mkdirSync(dir)
    writeFileSync(join(dir, 'a.txt'), 'a')
    const when = new Date(2024, 4, 17, 13, 42, 10)
    utimesSync(join(dir, 'a.txt'), when, when)
    expect(firstEntryTime(zipFolder(dir, 'd')).getTime()).toBe(when.getTime())
  })

  it('leaves out a symlink, so nothing outside the folder is packed', () => {
    const dir = join(root, 'links')
    mkdirSync(dir)
    writeFileSync(join(dir, 'model.json'), '{}')
    symlinkSync('/etc/passwd', join(dir, 'passwd'))
    symlinkSync('/etc', join(dir, 'etc'))
    expect(Object.keys(unzipSync(zipFolder(dir, 'l')))).toEqual(['l/model.json'])
  })
})
