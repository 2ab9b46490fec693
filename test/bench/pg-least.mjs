// The least a Node program does to answer one of the PostgreSQL read benchmarks: load pg (bundled
// into one file, as crm bundles it), connect, run the SQL, print the rows as CSV, disconnect. No
// CLI, no schema check, no formatting beyond joining cells. postgres-load.bench.mjs times it beside
// psql and crm, to show what part of crm's ratio Node and pg take before crm does anything.
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { DATA } from './lib.mjs';

const SOURCE = `
// pg 8 loads Node's HTTP client to ask whether it runs in a Cloudflare Worker unless a navigator
// says otherwise (crm does the same, src/db/pg-driver.ts).
globalThis.navigator ??= { userAgent: 'Node.js' };
const { Client } = require('pg');
const [url, sql] = process.argv.slice(2);
(async () => {
  const client = new Client({ connectionString: url });
  await client.connect();
  const result = await client.query({ text: sql, rowMode: 'array' });
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  const lines = last.rows.map((row) => row.join(','));
  process.stdout.write(lines.join('\\n') + '\\n');
  await client.end();
})();
`;

/** Builds the program into the bench's data folder and returns its path. */
export async function leastPgProgram() {
  const entry = `${DATA}pg-least-src.cjs`;
  const out = `${DATA}pg-least.cjs`;
  writeFileSync(entry, SOURCE);
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['pg-native', 'pg-cloudflare'],
    logLevel: 'warning',
  });
  return out;
}
