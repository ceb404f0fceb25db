// The installer configuration, loaded and schema-checked by electron-builder's own code (no
// Electron binary needed), and the icons it points at.
import { beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import type { Configuration } from 'electron-builder'

const ROOT = resolve(__dirname, '../../..')
const req = createRequire(join(ROOT, 'package.json'))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(buf: Buffer): [number, number] {
  expect(buf.subarray(1, 4).toString('latin1')).toBe('PNG')
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)]
}
/** File patterns as written, whether the loader kept them as strings or normalised them to { filter }. */
const patterns = (files: unknown): string[] =>
  (Array.isArray(files) ? files : [files]).flatMap((f) => (typeof f === 'string' ? [f] : ((f as { filter?: string[] })?.filter ?? [])))
const targets = (t: unknown): string[] =>
  (Array.isArray(t) ? t : [t]).map((x) => (typeof x === 'string' ? x : (x as { target: string }).target))

describe('electron-builder.yml', () => {
  let config: Configuration
  beforeAll(async () => {
    const { getConfig, validateConfiguration } = req('app-builder-lib/out/util/config/config')
    const { DebugLogger } = req('builder-util')
    config = await getConfig(ROOT, null, null)
    // Throws with electron-builder's own message on an unknown or misplaced option.
    await validateConfiguration(config, new DebugLogger(false))
  })

  it('names the app', () => {
    expect(config.appId).toBe('app.curator.studio')
    expect(config.productName).toBe('Curator')
    expect(config.directories).toMatchObject({ output: 'dist', buildResources: 'build' })
  })
  it('packs the build output, the shipped resources and package.json, without source maps', () => {
    expect(patterns(config.files)).toEqual(expect.arrayContaining(['out/**', 'resources/**', 'package.json', '!**/*.map']))
    expect(pkg.main).toMatch(/^(\.\/)?out\//)
  })
  it('unpacks native code and files read by path from the asar', () => {
    expect(config.asar).not.toBe(false)
    expect(patterns(config.asarUnpack)).toEqual(
      expect.arrayContaining([
        'node_modules/@tensorflow/tfjs-node/**',
        'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm',
        'node_modules/sharp/**',
        'node_modules/@img/**',
        'resources/**'
      ])
    )
  })
  it('does not rebuild native modules (tfjs-node is N-API)', () => {
    expect(config.npmRebuild).toBe(false)
    expect(config.nodeGypRebuild).toBe(false)
    expect(config.buildDependenciesFromSource).toBe(false)
  })
  it('ships the base model at process.resourcesPath/models/mnist-cnn (base.ts defaultBaseDir)', () => {
    expect(config.extraResources).toEqual(expect.arrayContaining([expect.objectContaining({ from: 'resources/models', to: 'models' })]))
    expect(existsSync(join(ROOT, 'resources/models/mnist-cnn/model.json'))).toBe(true)
    expect(readFileSync(join(ROOT, 'src/main/engine/base.ts'), 'utf8')).toMatch(/resourcesPath[^\n]*'models', 'mnist-cnn'/)
  })
  it('builds AppImage and deb on Linux, nsis on Windows, dmg on macOS', () => {
    expect(targets(config.linux?.target)).toEqual(['AppImage', 'deb'])
    expect(targets(config.win?.target)).toEqual(['nsis'])
    expect(targets(config.mac?.target)).toEqual(['dmg'])
  })
  it('has what the deb target demands: a maintainer and a project homepage', () => {
    // electron-builder's FpmTarget stops with "Please specify project homepage" without one.
    expect(config.linux?.maintainer ?? pkg.author?.email).toBeTruthy()
    expect(pkg.homepage ?? pkg.repository, 'package.json needs "homepage" (or a GitHub "repository") for the deb').toBeTruthy()
  })
  it('desktop entry and window agree on Linux (desktopName)', () => {
    expect(config.linux?.syncDesktopName).toBe(true)
    expect(pkg.desktopName).toBe(`${config.linux?.executableName}.desktop`)
  })
  it('npm run dist builds and then packages', () => {
    expect(pkg.scripts.dist).toBe('electron-vite build && electron-builder')
    expect(pkg.devDependencies['electron-builder']).toBeDefined()
    expect(pkg.dependencies.electron ?? null, 'electron must stay a devDependency (electron-builder refuses it in dependencies)').toBeNull()
  })
})

describe('Electron fuses (electronFuses in electron-builder.yml)', () => {
  it('electron-builder flips them in the binary: no run-as-node, NODE_OPTIONS or --inspect; cookie encryption, app.asar only and its integrity on', async () => {
    const { getConfig } = req('app-builder-lib/out/util/config/config')
    const config: Configuration = await getConfig(ROOT, null, null)
    // The fuse config electron-builder hands to @electron/fuses when it packs (before signing).
    const { PlatformPackager } = req('app-builder-lib')
    const fuseConfig = await PlatformPackager.prototype.generateFuseConfig.call(null, config.electronFuses)
    const fuses = req('@electron/fuses')
    const { FuseV1Options: F, getCurrentFuseWire, flipFuses } = fuses
    const { SENTINEL, FuseState } = req('@electron/fuses/dist/constants')
    // A stand-in for Electron's binary: its fuse wire (sentinel, version 1, 8 fuses) in Electron's
    // default states (run as node, NODE_OPTIONS, --inspect, file:// privileges on; the rest off).
    const defaults = '10110001'
    const tmp = mkdtempSync(join(tmpdir(), 'curator-fuses-'))
    try {
      const binary = join(tmp, 'curator')
      writeFileSync(
        binary,
        Buffer.concat([
          Buffer.alloc(4096, 7),
          Buffer.from(SENTINEL),
          Buffer.from([1, defaults.length]),
          Buffer.from(defaults),
          Buffer.alloc(4096, 7)
        ])
      )
      await flipFuses(binary, fuseConfig)
      const wire = await getCurrentFuseWire(binary)
      const on = (option: number) => wire[option] === FuseState.ENABLE
      expect(on(F.RunAsNode)).toBe(false)
      expect(on(F.EnableNodeOptionsEnvironmentVariable)).toBe(false)
      expect(on(F.EnableNodeCliInspectArguments)).toBe(false)
      expect(on(F.EnableCookieEncryption)).toBe(true)
      expect(on(F.OnlyLoadAppFromAsar)).toBe(true)
      expect(on(F.EnableEmbeddedAsarIntegrityValidation)).toBe(true)
      // The window loads curator://app/, so file:// needs no privileges beyond a browser's.
      expect(on(F.GrantFileProtocolExtraPrivileges)).toBe(false)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
    // Loading only from app.asar needs the app in one.
    expect(config.asar).not.toBe(false)
  })
})

describe('icons (scripts/make-icon.mjs)', () => {
  it('build/icon.png is 1024 px, resources/icon.png (the Linux window icon) 512 px', () => {
    expect(pngSize(readFileSync(join(ROOT, 'build/icon.png')))).toEqual([1024, 1024])
    expect(pngSize(readFileSync(join(ROOT, 'resources/icon.png')))).toEqual([512, 512])
  })
  it('the Linux icon set has a PNG per size, named by its size', () => {
    const files = readdirSync(join(ROOT, 'build/icons')).filter((f) => f.endsWith('.png'))
    expect(files.length).toBeGreaterThanOrEqual(6)
    for (const f of files) {
      const n = Number(/^(\d+)x\1\.png$/.exec(f)?.[1])
      expect(pngSize(readFileSync(join(ROOT, 'build/icons', f))), f).toEqual([n, n])
    }
    expect(files).toEqual(expect.arrayContaining(['16x16.png', '32x32.png', '48x48.png', '256x256.png', '512x512.png']))
  })
  it('build/icon.ico holds 16 to 256 px images (Windows, nsis)', () => {
    const ico = readFileSync(join(ROOT, 'build/icon.ico'))
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1])
    const count = ico.readUInt16LE(4)
    const sizes: number[] = []
    for (let i = 0; i < count; i++) {
      const e = 6 + 16 * i
      const size = ico[e] || 256
      const [len, off] = [ico.readUInt32LE(e + 8), ico.readUInt32LE(e + 12)]
      expect(off + len).toBeLessThanOrEqual(ico.length)
      const data = ico.subarray(off, off + len)
      if (data.subarray(1, 4).toString('latin1') === 'PNG') expect(pngSize(data)).toEqual([size, size])
      else expect([data.readUInt32LE(0), data.readInt32LE(4), data.readInt32LE(8), data.readUInt16LE(14)]).toEqual([40, size, size * 2, 32])
      sizes.push(size)
    }
    expect(sizes).toEqual(expect.arrayContaining([16, 32, 48, 256]))
  })
  it('build/icon.icns holds PNG images up to 1024 px (macOS)', () => {
    const icns = readFileSync(join(ROOT, 'build/icon.icns'))
    expect(icns.subarray(0, 4).toString('latin1')).toBe('icns')
    expect(icns.readUInt32BE(4)).toBe(icns.length)
    const found = new Map<string, number>()
    for (let at = 8; at < icns.length;) {
      const type = icns.subarray(at, at + 4).toString('latin1')
      const len = icns.readUInt32BE(at + 4)
      found.set(type, pngSize(icns.subarray(at + 8, at + len))[0])
      at += len
    }
    expect(Object.fromEntries(found)).toMatchObject({ ic07: 128, ic08: 256, ic09: 512, ic10: 1024 })
  })
  it('the config points at these files', async () => {
    const { getConfig } = req('app-builder-lib/out/util/config/config')
    const config: Configuration = await getConfig(ROOT, null, null)
    for (const icon of [config.win?.icon, config.mac?.icon, config.linux?.icon])
      expect(existsSync(join(ROOT, String(icon))), String(icon)).toBe(true)
  })
})
