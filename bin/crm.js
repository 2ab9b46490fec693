#!/usr/bin/env node
// Tiny entry: load the bundle and hand it the command line. Everything else lives in src/.
// `crm --version` alone is answered here from package.json (the version the build puts in the
// bundle): loading and compiling the 300 KB bundle is most of what it would cost (issue 19).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { run } = await import('../dist/crm.js');
  process.exitCode = await run(process.argv);
}
