// `npm run build`'s second step: one CommonJS file per process entry point (the CLI, the daemon,
// a queue worker; the CLI's commands apart from its parser), so that a start reads and compiles one file instead of resolving ~50 ES
// modules. tsc's dist/src stays the package's public API and types; the bundles are what
// bin/tsublk, the daemon and the queue threads run. Measured in the TCG guest (bench:start):
// CommonJS starts a queue worker 0.5 s sooner than ESM (Node 20's ESM loader, and Koffi's ESM
// entry, cost that much in a fresh isolate); whitespace minifying halves what a start reads.
import { type BuildOptions, type Plugin, build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The entries sit side by side in dist/bundle/cli/, as deep as dist/src/cli/: the sibling lookups
 * (`new URL('./daemon-main.js' | './queue-worker.js', import.meta.url)`) and the
 * `../../../package.json` / `../../../bin/tsublk` lookups resolve the same from either tree.
 */
const outdir = 'dist/bundle/cli';

/** What every bundle shares. */
const common: BuildOptions = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Koffi is a native addon: it loads its own .node file from its package.
  external: ['koffi'],
  // CommonJS has no import.meta: each bundle's own URL stands in (the entries share one folder).
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true, // stack traces keep function names; the source maps give files and lines
  sourcemap: true,
  logLevel: 'warning',
};

/** main.ts's `import('./commands.js')` stays a reference to the commands bundle beside it. */
const commandsBeside: Plugin = {
  name: 'commands-beside',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\/commands\.js$/ }, () => ({ path: './commands.js', external: true }));
  },
};

await Promise.all([
  // The CLI's parser and tables alone: what --help and a bad option cost. It loads the commands
  // bundle with require (no ES module loader), which is why it alone turns import() into require.
  build({ ...common, entryPoints: { main: 'src/cli/main.ts' }, plugins: [commandsBeside], supported: { 'dynamic-import': false } }),
  // The rest keeps import(): a target module (-t ./x.js) may be ESM.
  build({ ...common, entryPoints: { commands: 'src/cli/commands.ts', 'daemon-main': 'src/cli/daemon-main.ts', 'queue-worker': 'src/ublk/queue-worker.ts' } }),
]);
// The package is ESM ("type": "module"): this folder's .js files are CommonJS.
writeFileSync(`${root}${outdir}/../package.json`, '{ "type": "commonjs" }\n');
