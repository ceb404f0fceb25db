// npm 11.16+ reads package.json's allowScripts (npm 12 blocks every dependency install script not
// approved there): exactly the packages whose scripts Curator needs are approved, and every
// installed package with an install script has a decision.
import { describe, it, expect } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(__dirname, '../../..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const allow = pkg.allowScripts as Record<string, boolean>

/** Installed packages (node_modules, scoped included) that declare preinstall, install or postinstall. */
function withInstallScripts(dir = join(root, 'node_modules')): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue
    if (name.startsWith('@')) {
      out.push(...withInstallScripts(join(dir, name)))
      continue
    }
    try {
      const j = JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8'))
      const s = j.scripts ?? {}
      if (s.preinstall || s.install || s.postinstall) out.push(j.name)
    } catch {
      // not a package folder
    }
  }
  return out
}

describe('allowScripts', () => {
  it('approves exactly Electron (its binary), tfjs-node (libtensorflow), esbuild and sharp (their native binaries)', () => {
    expect(
      Object.keys(allow)
        .filter((k) => allow[k] === true)
        .sort()
    ).toEqual(['@tensorflow/tfjs-node', 'electron', 'esbuild', 'sharp'])
  })

  it('decides for every installed package with an install script; onnxruntime-node is denied (its CPU binaries ship in the package)', () => {
    const found = withInstallScripts()
    expect(found).toContain('electron')
    for (const name of found) expect(allow, `${name} has an install script`).toHaveProperty([name])
    expect(allow['onnxruntime-node']).toBe(false)
    // protobufjs 8 has no install script, so it needs no entry.
    const proto = JSON.parse(readFileSync(join(root, 'node_modules/protobufjs/package.json'), 'utf8'))
    expect(Object.keys(proto.scripts ?? {}).filter((k) => /install/.test(k))).toEqual([])
  })
})
