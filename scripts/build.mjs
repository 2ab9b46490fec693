// Bundles src/cli/main.ts into dist/ with esbuild. Code splitting keeps rarely used modules
// (prompts, CSV parsing) in their own chunks, loaded with import() only when a command needs them.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { inlineStartupChunks } from './inline-startup-chunks.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
// The migration names, so a read command can check the schema is current without loading the
// migrations (and Kysely with them); see src/db/sqlite.ts.
const migrationIndex = readFileSync(new URL('../migrations/index.ts', import.meta.url), 'utf8');
const migrationNames = [...migrationIndex.matchAll(/^\s*['"](\d{8}_[\w-]+)['"]\s*:/gm)].map((m) => m[1]);
if (migrationNames.length === 0) throw new Error('build: no migrations found in migrations/index.ts');
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

// commander requires node:child_process when it loads, for executable subcommands (crm has none).
// That one require loads child_process, net, dgram and the stream modules, ~4 ms of every
// start-up; commander gets a stand-in that requires the module on first use instead.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) => (/[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'crm-lazy' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'crm-lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
      loader: 'js',
    }));
  },
};

const BANNER = "import { createRequire as __crmCreateRequire } from 'node:module'; const require = __crmCreateRequire(import.meta.url);";
const options = {
  entryPoints: { crm: 'src/cli/main.ts' },
  plugins: [lazyChildProcess],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The native addon must be loaded from node_modules at run time; pg's optional native binding and
  // its Cloudflare Workers socket are never used here (pg requires them only when asked for them).
  external: ['better-sqlite3', 'pgpass', 'pg-native', 'pg-cloudflare'],
  define: { __CRM_VERSION__: JSON.stringify(pkg.version), __CRM_MIGRATIONS__: JSON.stringify(migrationNames) },
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: BANNER },
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
};
const result = await build(options);
await inlineStartupChunks(result.metafile, 'dist/crm.js', options);

// The worker thread that parses big import files (src/io/csv-worker.ts): a bundle of its own,
// dist/csv-worker.js, so that starting it loads the CSV reader and nothing else; beside it the step
// it runs for a big sales file (src/db/sale-keys-step.ts, dist/sale-keys.js).
await build({
  entryPoints: { 'csv-worker': 'src/io/csv-worker.ts', 'sale-keys': 'src/db/sale-keys-step.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // iconv-lite's code tables are half a megabyte: loaded from node_modules only for a GBK or Latin-1 file.
  external: [...options.external, 'iconv-lite'],
  banner: options.banner,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
