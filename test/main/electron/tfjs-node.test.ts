// Native TensorFlow in Electron: tfjs-node is loaded with Node's removed util.isNullOrUndefined
// shimmed first, and falling back to wasm says why.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import util from 'node:util'
import { backendNotice, fallbackNotice, initBackend, loadTfjsNode, shimNodeUtil } from '../../../src/main/engine/backend'

const u = util as unknown as Record<string, unknown>

/**
 * A folder with a stand-in @tensorflow/tfjs-node that does what the real 4.22 does at load
 * time: calls require('util').isNullOrUndefined (and so throws where Node >= 23 removed it).
 */
function fakeInstall(): { dir: string; req: NodeJS.Require } {
  const dir = mkdtempSync(join(tmpdir(), 'curator-tfjs-node-'))
  const pkg = join(dir, 'node_modules/@tensorflow/tfjs-node')
  mkdirSync(pkg, { recursive: true })
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }))
  writeFileSync(
    join(pkg, 'index.js'),
    `const util = require('util')
if (typeof util.isNullOrUndefined !== 'function') throw new TypeError('util.isNullOrUndefined is not a function')
module.exports = { checked: [util.isNullOrUndefined(null), util.isNullOrUndefined(undefined), util.isNullOrUndefined(0), util.isNullOrUndefined('')] }
`
  )
  return { dir, req: createRequire(join(dir, 'app.js')) }
}

describe('loading tfjs-node', () => {
  let saved: unknown
  let dir = ''
  beforeEach(() => {
    saved = u.isNullOrUndefined
    delete u.isNullOrUndefined // as on Node >= 23 and in Electron's Node
  })
  afterEach(() => {
    if (saved === undefined) delete u.isNullOrUndefined
    else u.isNullOrUndefined = saved
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = ''
  })

  it('the stand-in fails without the shim, as tfjs-node 4.22 does on Node >= 23', () => {
    const f = fakeInstall()
    dir = f.dir
    expect(() => f.req('@tensorflow/tfjs-node')).toThrow(/isNullOrUndefined is not a function/)
  })

  it('loadTfjsNode installs the shim before requiring tfjs-node', () => {
    const f = fakeInstall()
    dir = f.dir
    const required: string[] = []
    loadTfjsNode((id) => {
      required.push(id)
      return f.req(id)
    })
    expect(required).toEqual(['@tensorflow/tfjs-node'])
    // The module ran with the shim and got the right answers from it.
    expect(f.req('@tensorflow/tfjs-node')).toEqual({ checked: [true, true, false, false] })
  })

  it('the shim lands on the util object every module shares, and keeps an existing function', () => {
    shimNodeUtil()
    expect(typeof createRequire(import.meta.url)('util').isNullOrUndefined).toBe('function')
    const own = () => true
    const other: Record<string, unknown> = { isNullOrUndefined: own }
    shimNodeUtil(other)
    expect(other.isNullOrUndefined).toBe(own)
  })
})

describe('falling back to wasm is visible', () => {
  it('says "not installed" when the package is missing, and the error when it is broken', () => {
    const empty = mkdtempSync(join(tmpdir(), 'curator-no-tfjs-node-'))
    try {
      let missing: unknown
      try {
        createRequire(join(empty, 'app.js'))('@tensorflow/tfjs-node')
      } catch (err) {
        missing = err
      }
      expect(fallbackNotice(missing, 'wasm')).toBe('tfjs-node not installed; using WebAssembly')
      expect(fallbackNotice(missing, 'cpu')).toBe('tfjs-node not installed; using plain JavaScript (slow)')
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
    const depMissing = Object.assign(new Error("Cannot find module '@mapbox/node-pre-gyp'\nRequire stack:\n- x"), {
      code: 'MODULE_NOT_FOUND'
    })
    expect(fallbackNotice(depMissing, 'wasm')).toBe(
      "tfjs-node failed to load (Cannot find module '@mapbox/node-pre-gyp'); using WebAssembly"
    )
    const abi = new Error('The module was compiled against a different Node.js version\nmore')
    expect(fallbackNotice(abi, 'wasm')).toBe(
      'tfjs-node failed to load (The module was compiled against a different Node.js version); using WebAssembly'
    )
  })

  it('backendNotice() reports what initBackend fell back from, or null on native TensorFlow', async () => {
    expect(backendNotice()).toBeNull()
    const name = await initBackend()
    if (process.env.CURATOR_BACKEND) {
      expect(backendNotice()).toBeNull() // asked for by name: nothing to explain
      return
    }
    let installed = true
    try {
      createRequire(resolve(__dirname, '../../../src/main/engine/backend.ts')).resolve('@tensorflow/tfjs-node')
    } catch {
      installed = false
    }
    if (installed && name === 'tensorflow') expect(backendNotice()).toBeNull()
    else if (!installed) {
      expect(name).toBe('wasm')
      expect(backendNotice()).toBe('tfjs-node not installed; using WebAssembly')
    } else expect(backendNotice()).toMatch(/^tfjs-node failed to load \(.+\); using /)
  })
})
