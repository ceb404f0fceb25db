// Lint for TypeScript and Vue, run by `npm test`. Besides the recommended rules it holds
// Curator's layer rules (README, "How it works"): a module may import only from layers
// below its own, the renderer stores form no cycle, and no import cycle exists anywhere.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import vue from 'eslint-plugin-vue'
import { importX } from 'eslint-plugin-import-x'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import prettier from 'eslint-config-prettier'

const main = (p) => `./src/main/${p}`

// The main process's layers, lowest first. A layer may import from the layers before it.
// The TensorBoard encoder (writer, proto, histogram, png, record) and the ONNX converter are
// libraries below the engine; tensorboard/session.ts and rebuild.ts turn session events into
// summaries and sit above the session layer.
const TB_LIB = ['writer', 'proto', 'histogram', 'png', 'record'].map((f) => main(`tensorboard/${f}.ts`))
const LAYERS = [
  { name: 'util', paths: [main('util'), main('paths.ts'), main('version.ts')] },
  { name: 'files', paths: [main('files')] },
  { name: 'onnx and the TensorBoard encoder', paths: [main('onnx'), ...TB_LIB] },
  { name: 'data', paths: [main('data')] },
  { name: 'engine', paths: [main('engine')] },
  { name: 'session', paths: [main('session')] },
  { name: 'export', paths: [main('export'), main('tensorboard/session.ts'), main('tensorboard/rebuild.ts')] },
  { name: 'studio', paths: [main('studio')] },
  { name: 'server', paths: [main('server')] },
  { name: 'cli and electron', paths: [main('cli'), main('electron'), main('index.ts')] }
]

const layerZones = LAYERS.flatMap((layer, i) =>
  layer.paths.map((target) => ({
    target,
    from: LAYERS.slice(i + 1).flatMap((l) => l.paths),
    message: `the ${layer.name} layer may not import from a layer above it`
  }))
).filter((z) => z.from.length > 0)

const boundaryZones = [
  { target: './src/shared', from: ['./src/main', './src/renderer', './src/preload'], message: 'shared code imports only shared code' },
  { target: './src/renderer', from: ['./src/main', './src/preload'], message: 'the renderer reaches the studio only through its API' },
  { target: './src/preload', from: ['./src/main', './src/renderer'], message: 'the preload is a thin bridge over the shared contract' },
  {
    target: './src/renderer/src/stores/app.ts',
    from: ['./src/renderer/src/stores/session.ts', './src/renderer/src/stores/replay.ts', './src/renderer/src/wiring.ts'],
    message: 'the app store imports no other store (wiring.ts connects them)'
  },
  {
    target: './src/renderer/src/stores',
    from: ['./src/renderer/src/wiring.ts', './src/renderer/src/views', './src/renderer/src/components', './src/renderer/src/App.vue'],
    message: 'stores import no views, components or the wiring module'
  },
  {
    target: ['./src/renderer/src/views', './src/renderer/src/components', './src/renderer/src/App.vue'],
    from: ['./src/renderer/src/api'],
    message: 'views change the session through the stores; their own read-only queries go through lib/queries.ts'
  },
  {
    target: './src/renderer/src/stores/session.ts',
    from: ['./src/renderer/src/stores/replay.ts'],
    message: 'the session store does not import the replay store'
  }
]

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'resources/**', 'docs/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } }
  },
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: ['tsconfig.node.json', 'tsconfig.web.json'], noWarnOnMultipleProjects: true })
      ],
      'import-x/extensions': ['.ts', '.mts', '.js', '.mjs', '.vue'],
      // Vue files are linted with their own parser; cycles through them are not followed.
      'import-x/ignore': ['\\.vue$']
    },
    rules: {
      // TypeScript already checks names; the rule does not know DOM or Node types.
      'no-undef': 'off',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: [...layerZones, ...boundaryZones] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      'vue/multi-word-component-names': 'off',
      'vue/require-default-prop': 'off'
    }
  },
  {
    files: ['bin/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  prettier
)
