// The filesystem-safety module on real files: atomic file and folder writes, refusing to replace
// what is not ours, and disk errors as DISK_FULL / NOT_WRITABLE / EXISTS (a real full tmpfs).
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { diskError, writeFileAtomic, writeFolderAtomic } from '../../../src/main/files/safe'
import { toErrorDto } from '../../../src/shared/errors'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { canMountTmpfs, ROOT } from '../export/cli'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'curator-safe-'))
})
afterEach(() => {
  chmodSync(dir, 0o755)
  rmSync(dir, { recursive: true, force: true })
})

describe('writeFileAtomic', () => {
  it('writes text, bytes and chunks, creating parent folders, leaving no temporary file', async () => {
    await writeFileAtomic(join(dir, 'a/b/text.txt'), 'hello\n')
    await writeFileAtomic(join(dir, 'a/bytes.bin'), new Uint8Array([1, 2, 3]))
    await writeFileAtomic(join(dir, 'a/chunks.bin'), [new Uint8Array([1]), new Uint8Array([]), new Uint8Array([2, 3])])
    expect(readFileSync(join(dir, 'a/b/text.txt'), 'utf8')).toBe('hello\n')
    expect([...readFileSync(join(dir, 'a/bytes.bin'))]).toEqual([1, 2, 3])
    expect([...readFileSync(join(dir, 'a/chunks.bin'))]).toEqual([1, 2, 3])
    expect(readdirSync(join(dir, 'a')).sort()).toEqual(['b', 'bytes.bin', 'chunks.bin'])
  })

  it("replaces by default, refuses with 'never', and asks a policy whether the file is ours", async () => {
    const f = join(dir, 'f.txt')
    writeFileSync(f, 'theirs')
    await expectCuratorErrorAsync(() => writeFileAtomic(f, 'x', { replace: 'never' }), 'EXISTS', /f\.txt already exists/)
    await expectCuratorErrorAsync(
      () => writeFileAtomic(f, 'x', { replace: async () => false, ours: 'a GIF Curator wrote' }),
      'EXISTS',
      /is not a GIF Curator wrote; refusing/
    )
    expect(readFileSync(f, 'utf8')).toBe('theirs')
    await writeFileAtomic(f, 'ours', { replace: async (p) => readFileSync(p, 'utf8') === 'theirs' })
    expect(readFileSync(f, 'utf8')).toBe('ours')
    await writeFileAtomic(f, 'again')
    expect(readFileSync(f, 'utf8')).toBe('again')
    expect(readdirSync(dir)).toEqual(['f.txt'])
  })

  it("'never' lets exactly one of many concurrent writers create the file", async () => {
    const f = join(dir, 'once.txt')
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => writeFileAtomic(f, `writer ${i}`, { replace: 'never' })))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(
      Array(7).fill('EXISTS')
    )
    expect(readFileSync(f, 'utf8')).toMatch(/^writer \d$/)
    expect(readdirSync(dir)).toEqual(['once.txt'])
  })

  it.skipIf(process.getuid?.() === 0)('an unwritable folder is NOT_WRITABLE', async () => {
    chmodSync(dir, 0o500)
    await expectCuratorErrorAsync(() => writeFileAtomic(join(dir, 'x'), 'x'), 'NOT_WRITABLE', /permission denied/)
  })

  it('a path under a regular file is NOT_WRITABLE', async () => {
    writeFileSync(join(dir, 'file'), '')
    await expectCuratorErrorAsync(() => writeFileAtomic(join(dir, 'file', 'x.txt'), 'x'), 'NOT_WRITABLE', /part of that path is a file/)
  })
})

describe('writeFolderAtomic', () => {
  it('fills a hidden sibling and renames it into place; a failing fill leaves nothing', async () => {
    const target = join(dir, 'out')
    await writeFolderAtomic(target, async (tmp) => {
      expect(tmp).toMatch(/\/\.out\.partial-\d+-[0-9a-f]{8}$/)
      mkdirSync(join(tmp, 'sub'))
      writeFileSync(join(tmp, 'sub', 'a.txt'), 'a')
    })
    expect(readFileSync(join(target, 'sub', 'a.txt'), 'utf8')).toBe('a')
    const boom = join(dir, 'boom')
    await expect(
      writeFolderAtomic(boom, async (tmp) => {
        writeFileSync(join(tmp, 'half'), 'x')
        throw new Error('interrupted')
      })
    ).rejects.toThrow(/interrupted/)
    expect(readdirSync(dir)).toEqual(['out'])
  })

  it('refuses an existing folder unless the policy says it is ours, then swaps it whole', async () => {
    const target = join(dir, 'out')
    mkdirSync(target)
    writeFileSync(join(target, 'user.txt'), 'keep me')
    await expectCuratorErrorAsync(() => writeFolderAtomic(target, async () => {}), 'EXISTS', /out already exists/)
    const isOurs = async (p: string) => existsSync(join(p, 'ours'))
    await expectCuratorErrorAsync(
      () => writeFolderAtomic(target, async () => {}, { replace: isOurs, ours: 'an earlier export' }),
      'EXISTS',
      /is not an earlier export/
    )
    expect(readFileSync(join(target, 'user.txt'), 'utf8')).toBe('keep me')
    rmSync(join(target, 'user.txt'))
    writeFileSync(join(target, 'ours'), '')
    await writeFolderAtomic(target, async (tmp) => writeFileSync(join(tmp, 'new.txt'), 'new'), { replace: isOurs })
    expect(readdirSync(target)).toEqual(['new.txt'])
    expect(readdirSync(dir)).toEqual(['out'])
  })

  it("writes into an existing empty folder, keeping its permissions; `keep` carries the user's files into the new folder", async () => {
    const target = join(dir, 'picked')
    mkdirSync(target, { mode: 0o700 })
    await writeFolderAtomic(target, async (tmp) => writeFileSync(join(tmp, 'ours.txt'), 'v1'))
    expect(readdirSync(target)).toEqual(['ours.txt'])
    expect(statSync(target).mode & 0o777).toBe(0o700)
    writeFileSync(join(target, 'mine.txt'), 'keep me')
    mkdirSync(join(target, 'sub'))
    writeFileSync(join(target, 'sub', 'deep.txt'), 'deep')
    symlinkSync('mine.txt', join(target, 'link'))
    const keep = async (p: string) => readdirSync(p).filter((n) => n !== 'ours.txt')
    await writeFolderAtomic(target, async (tmp) => writeFileSync(join(tmp, 'ours.txt'), 'v2'), { replace: 'always', keep })
    expect(readdirSync(target).sort()).toEqual(['link', 'mine.txt', 'ours.txt', 'sub'])
    expect(readFileSync(join(target, 'ours.txt'), 'utf8')).toBe('v2')
    expect(readFileSync(join(target, 'sub', 'deep.txt'), 'utf8')).toBe('deep')
    expect(readlinkSync(join(target, 'link'))).toBe('mine.txt')
    // A kept entry the new folder also writes: refused, and nothing changes.
    await expectCuratorErrorAsync(
      () => writeFolderAtomic(target, async (tmp) => writeFileSync(join(tmp, 'mine.txt'), 'x'), { replace: 'always', keep, ours: 'ours' }),
      'EXISTS',
      /picked\/mine\.txt is in the way: it is not ours and would be replaced/
    )
    expect(readFileSync(join(target, 'mine.txt'), 'utf8')).toBe('keep me')
    expect(readdirSync(dir)).toEqual(['picked'])
  })

  it('puts back the folder a killed writer had swapped out, then removes its temporary folder', async () => {
    // Killed between renaming the target aside and renaming the new folder in.
    mkdirSync(join(dir, '.out.partial-999999-0123abcd'))
    mkdirSync(join(dir, '.out.partial-999999-0123abcd.old'))
    writeFileSync(join(dir, '.out.partial-999999-0123abcd.old', 'user.txt'), 'mine')
    await expectCuratorErrorAsync(() => writeFolderAtomic(join(dir, 'out'), async () => {}), 'EXISTS', /out already exists/)
    expect(readdirSync(dir)).toEqual(['out'])
    expect(readFileSync(join(dir, 'out', 'user.txt'), 'utf8')).toBe('mine')
  })

  it('removes the temporary folders of a killed writer, not those of a live one', async () => {
    const dead = join(dir, '.out.partial-999999-0123abcd')
    const live = join(dir, `.out.partial-${process.ppid}-0123abcd`)
    mkdirSync(dead)
    mkdirSync(live)
    await writeFolderAtomic(join(dir, 'out'), async () => {})
    expect(readdirSync(dir).sort()).toEqual([`.out.partial-${process.ppid}-0123abcd`, 'out'])
  })
})

describe('diskError', () => {
  it.each([
    ['ENOSPC', 'DISK_FULL', /The disk is full: cannot write \/x/],
    ['EDQUOT', 'DISK_FULL', /disk is full/],
    ['EACCES', 'NOT_WRITABLE', /permission denied/],
    ['EROFS', 'NOT_WRITABLE', /permission denied/],
    ['ENOTDIR', 'NOT_WRITABLE', /part of that path is a file/],
    ['EEXIST', 'EXISTS', /\/x already exists/],
    ['ENOENT', 'NOT_FOUND', /does not exist/],
    ['EIO', 'INTERNAL', /Writing \/x failed/]
  ])('%s is %s', (errno, code, re) => {
    const e = diskError(Object.assign(new Error('boom'), { code: errno }), '/x')
    expect(e.code).toBe(code)
    expect(e.message).toMatch(re)
    expect(e.details).toEqual({ path: '/x' })
  })
})

describe.skipIf(!canMountTmpfs())('on a full disk (a real 64 KiB tmpfs)', () => {
  it('a file and a folder write are DISK_FULL and leave nothing behind', () => {
    const mnt = join(dir, 'small')
    mkdirSync(mnt)
    const script = join(dir, 'fill.mts')
    writeFileSync(
      script,
      `import { writeFileAtomic, writeFolderAtomic } from '${join(ROOT, 'src/main/files/safe.ts')}'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
const big = new Uint8Array(1 << 20)
const codes = []
await writeFileAtomic('${mnt}/file.bin', big).catch((e) => codes.push(e.code))
await writeFolderAtomic('${mnt}/folder', async (tmp) => writeFileSync(join(tmp, 'w.bin'), big)).catch((e) => codes.push(e.code))
console.log(JSON.stringify({ codes, left: readdirSync('${mnt}') }))`
    )
    const r = spawnSync(
      'unshare',
      ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k none '${mnt}' && '${process.execPath}' --import tsx '${script}'`],
      { cwd: ROOT, encoding: 'utf8' }
    )
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ codes: ['DISK_FULL', 'DISK_FULL'], left: [] })
  })
})

describe('one mapping of disk errors', () => {
  it('diskError and toErrorDto give every errno the same code', () => {
    const expected: Record<string, string> = {
      ENOSPC: 'DISK_FULL',
      EDQUOT: 'DISK_FULL',
      EACCES: 'NOT_WRITABLE',
      EPERM: 'NOT_WRITABLE',
      EROFS: 'NOT_WRITABLE',
      ENOTDIR: 'NOT_WRITABLE',
      EISDIR: 'NOT_WRITABLE',
      EEXIST: 'EXISTS',
      ENOENT: 'NOT_FOUND',
      EIO: 'INTERNAL'
    }
    for (const [errno, code] of Object.entries(expected)) {
      const err = Object.assign(new Error(`${errno}: something`), { code: errno })
      expect(diskError(err, '/x/y').code, errno).toBe(code)
      expect(toErrorDto(err).code, errno).toBe(code)
    }
  })
})

describe('writeFileAtomic permissions', () => {
  it('creates the file with the mode asked for (owner only for a token), whatever path it takes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'curator-mode-'))
    try {
      await writeFileAtomic(join(dir, 'secret.json'), '{}', { mode: 0o600 })
      expect(statSync(join(dir, 'secret.json')).mode & 0o777).toBe(0o600)
      await writeFileAtomic(join(dir, 'secret.json'), '{"a":1}', { mode: 0o600 })
      expect(statSync(join(dir, 'secret.json')).mode & 0o777).toBe(0o600)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
