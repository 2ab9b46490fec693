// Folds the chunks that dist/crm.js imports statically (and so loads on every start) into crm.js.
// esbuild's code splitting makes one chunk per set of entry points sharing a module, so every
// command loaded some twenty small files before it began, each resolved, read, compiled and linked
// on its own by Node's ES module loader. A second esbuild pass bundles crm.js with those chunks
// into one file (renaming what clashes) and re-exports each chunk's names under a prefix; the
// chunks loaded later with import() then take those names from crm.js, which by then has run.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const IMPORT_FROM = /^import\s*\{([^}]*)\}\s*from\s*["'](\.[^"']+)["'];?/gm;
const BARE_IMPORT = /^import\s*["'](\.[^"']+)["'];?[ \t]*\n/gm;

/** `a as b, c` → [['a', 'b'], ['c', 'c']] */
function specifiers(list) {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [name, alias] = s.split(/\s+as\s+/);
      return [name, alias ?? name];
    });
}

/**
 * @param {import('esbuild').Metafile} metafile the first pass's (paths relative to the working folder)
 * @param {string} entry the entry output, e.g. 'dist/crm.js'
 * @param {object} options the first pass's options that apply again (banner, platform, target, external)
 * @returns {Promise<number>} how many chunks were folded in
 */
export async function inlineStartupChunks(metafile, entry, options) {
  const outputs = metafile.outputs;
  const statics = (path) => outputs[path].imports.filter((i) => i.kind === 'import-statement' && !i.external && outputs[i.path]).map((i) => i.path);
  const folded = new Set();
  const visit = (path) => {
    for (const next of statics(path)) {
      if (folded.has(next)) continue;
      folded.add(next);
      visit(next);
    }
  };
  visit(entry);
  if (folded.size === 0) return 0;

  // Each folded chunk's exports, re-exported from crm.js as `__chunkN_name`.
  const prefixOf = new Map([...folded].map((path, i) => [resolve(path), `__chunk${i}_`]));
  const wrapper = resolve(dirname(entry), '__entry.js');
  const lines = [`export * from ${JSON.stringify(`./${relative(dirname(entry), entry)}`)};`];
  for (const path of folded) {
    const names = outputs[path].exports;
    if (names.length === 0) continue;
    const prefix = prefixOf.get(resolve(path));
    lines.push(`export { ${names.map((n) => `${n} as ${prefix}${n}`).join(', ')} } from ${JSON.stringify(`./${relative(dirname(entry), path)}`)};`);
  }
  writeFileSync(wrapper, `${lines.join('\n')}\n`);
  const banner = options.banner.js;
  const entryDir = resolve(dirname(entry));
  try {
    await build({
      entryPoints: [wrapper],
      outfile: entry,
      allowOverwrite: true,
      bundle: true,
      format: 'esm',
      platform: options.platform,
      target: options.target,
      external: options.external,
      banner: options.banner,
      sourcemap: options.sourcemap,
      legalComments: 'none',
      logLevel: 'warning',
      plugins: [
        {
          name: 'fold',
          setup(b) {
            // Chunks that stay separate (loaded with import()) keep their paths, relative to crm.js.
            b.onResolve({ filter: /^\./ }, (args) => {
              if (args.kind === 'entry-point') return undefined;
              const target = resolve(args.resolveDir, args.path);
              if (target === resolve(entry) || prefixOf.has(target)) return { path: target };
              let rel = relative(entryDir, target);
              if (!rel.startsWith('.')) rel = `./${rel}`;
              return { path: rel, external: true };
            });
            // The first pass's banner is written once, on the folded file.
            b.onLoad({ filter: /\.js$/ }, (args) => ({ contents: readFileSync(args.path, 'utf8').replace(banner, ''), loader: 'js', resolveDir: dirname(args.path) }));
          },
        },
      ],
    });
  } finally {
    rmSync(wrapper, { force: true });
  }

  // The other chunks take the folded names from crm.js.
  for (const path of Object.keys(outputs)) {
    if (!path.endsWith('.js') || folded.has(path) || path === entry) continue;
    const text = readFileSync(path, 'utf8');
    let toEntry = relative(dirname(path), entry);
    if (!toEntry.startsWith('.')) toEntry = `./${toEntry}`;
    const rewritten = text
      .replace(IMPORT_FROM, (whole, list, from) => {
        const prefix = prefixOf.get(resolve(dirname(path), from));
        if (!prefix) return whole;
        return `import { ${specifiers(list).map(([name, local]) => `${prefix}${name} as ${local}`).join(', ')} } from ${JSON.stringify(toEntry)};`;
      })
      .replace(BARE_IMPORT, (whole, from) => (prefixOf.has(resolve(dirname(path), from)) ? '' : whole));
    if (rewritten !== text) writeFileSync(path, rewritten);
    // Any other way of naming a folded chunk (a re-export, import()) would fail at run time: fail the build instead.
    for (const m of rewritten.matchAll(/["'](\.\.?\/[^"']+\.js)["']/g)) {
      if (prefixOf.has(resolve(dirname(path), m[1]))) throw new Error(`inline: ${path} still names ${m[1]}, which was folded into ${entry}`);
    }
  }
  for (const path of folded) {
    rmSync(path);
    rmSync(`${path}.map`, { force: true });
  }
  return folded.size;
}
