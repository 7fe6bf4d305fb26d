// ESLint with typescript-eslint's type-aware rules: a daemon that serves a block device must not
// drop a promise or a rejected error on the floor, and the type checker is what can see that.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers point down only (docs: architecture.md): cli → targets → blk, cli → ublk → {blk, uring}
 * → native-bindings. Each folder names the layers it must not import; a wrong arrow fails lint.
 */
const layers = {
  'src/ublk': ['cli', 'targets'],
  'src/targets': ['cli', 'ublk', 'uring'],
  'src/blk': ['cli', 'targets', 'ublk', 'uring'],
  'src/uring': ['cli', 'targets', 'ublk', 'blk'],
  'native-bindings': ['src'],
};
const layerRules = Object.entries(layers).map(([folder, forbidden]) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map((layer) => ({
          group: [`**/${layer}/*`],
          message: `${folder} must not import ${layer === 'src' ? 'src/' : `src/${layer}`}: arrows point down only (architecture.md)`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...layerRules,
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs', 'bin/tsublk'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', require: 'readonly' },
    },
  },
  // bin/tsublk is CommonJS (bin/package.json), so that the CLI starts without the ES module loader.
  {
    files: ['bin/tsublk', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        exports: 'writable',
        __dirname: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
