// `npm run build`'s second step: one CommonJS file per process entry point (the CLI, the daemon,
// a queue worker; each command's modules apart from the CLI's parser), so that a start reads and compiles one file instead of resolving ~50 ES
// modules. tsc's dist/src stays the package's public API and types; the bundles are what
// bin/tsublk, the daemon and the queue threads run. Measured in the TCG guest (bench:start):
// CommonJS starts a queue worker 0.5 s sooner than ESM (Node 20's ESM loader, and Koffi's ESM
// entry, cost that much in a fresh isolate); whitespace minifying halves what a start reads.
import { type BuildOptions, type Plugin, build } from 'esbuild';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { programHelpText } from '../src/cli/main.js';

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

/** The modules commands.ts loads per command (its `import('./x.js')`): each a bundle of its own. */
const commandModules = [
  'plan',
  'serve-foreground',
  'start-daemon',
  'delete',
  'list',
  'stats',
  'change',
  'features',
  'udev',
  'log',
  'restart',
  'metrics',
  'systemd-unit',
  'completion',
];

/**
 * A module's `import('./x.js')` of a sibling module stays a reference to that module's own bundle
 * beside it: commands.ts's commands (in the CLI's bundle), daemon-main.ts's serve-daemon.
 */
function siblingsBeside(importer: string): Plugin {
  return {
    name: 'siblings-beside',
    setup(plugin) {
      plugin.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (args) =>
        args.kind === 'dynamic-import' && args.importer.endsWith(importer)
          ? { path: args.path, external: true }
          : undefined,
      );
    },
  };
}

await Promise.all([
  // The CLI's parser and tables alone: what --help and a bad option cost. It loads a command's
  // bundle with require (no ES module loader), which is why it alone turns import() into require.
  build({
    ...common,
    entryPoints: { main: 'src/cli/main.ts' },
    plugins: [siblingsBeside('src/cli/commands.ts')],
    supported: { 'dynamic-import': false },
  }),
  // The daemon's entry alone: it starts the queue workers first thing, so it compiles only what
  // that takes (5 KB, not the 180 KB of serving, which loads beside the workers' own start).
  build({
    ...common,
    entryPoints: { 'daemon-main': 'src/cli/daemon-main.ts' },
    plugins: [siblingsBeside('src/cli/daemon-main.ts')],
    supported: { 'dynamic-import': false },
  }),
  // The rest keeps import(): a target module (-t ./x.js) may be ESM. Code the command bundles
  // share is in each; a CLI process loads one or two of them, which share no state.
  build({
    ...common,
    entryPoints: {
      ...Object.fromEntries(commandModules.map((name) => [name, `src/cli/${name}.ts`])),
      'serve-daemon': 'src/cli/serve-daemon.ts',
      // Required before any bundle above is loaded: it compiles them through V8's code cache.
      'code-cache-install': 'src/cli/code-cache-install.ts',
      // Required by bin/tsublk before the CLI's bundle: add/recover/restart start their daemon at once.
      'daemon-prestart': 'src/cli/daemon-prestart.ts',
      'queue-worker': 'src/cli/queue-worker.ts',
    },
  }),
]);
// The code caches of the bundles just replaced would be refused (their header names the old
// build); removed so that the folder holds no stale files.
for (const name of readdirSync(`${root}${outdir}`))
  if (name.endsWith('.v8cache')) rmSync(`${root}${outdir}/${name}`, { force: true });
// What `tsublk --help` prints, for bin/tsublk to write without loading the CLI's bundle: the same
// text (it has no terminal width in it). One TCG boot, 21 alternating runs: 595 -> 561 ms (bare 413).
writeFileSync(`${root}${outdir}/help.txt`, programHelpText());
// The package is ESM ("type": "module"): this folder's .js files are CommonJS.
writeFileSync(`${root}${outdir}/../package.json`, '{ "type": "commonjs" }\n');
