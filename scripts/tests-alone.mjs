// Runs every test of the given files alone (`vitest run FILE -t NAME`), to catch tests that pass only
// after earlier tests in their file have run. Usage: node scripts/tests-alone.mjs test/cli/a.test.ts …
// (default: every file under test/cli). Prints one line per test and exits 1 if any failed alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : readdirSync('test/cli').filter((f) => f.endsWith('.test.ts')).map((f) => `test/cli/${f}`);
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// `--json=FILE` with the `=`: a bare `--json` would take the next argument (a test file) as its output path.
const dir = mkdtempSync(join(tmpdir(), 'crm-tests-alone-'));
execFileSync('npx', ['vitest', 'list', `--json=${join(dir, 'list.json')}`, ...files], { stdio: 'inherit' });
const listed = JSON.parse(readFileSync(join(dir, 'list.json'), 'utf8'));
rmSync(dir, { recursive: true, force: true });
const failed = [];
for (const { name, file } of listed) {
  // `list` names a test "describe > test"; -t matches a pattern against "describe test". A test's
  // own name may hold " > " too ("total_spent > 1000"), so each one may stand for either.
  const result = spawnSync('npx', ['vitest', 'run', file, '-t', `^${name.split(' > ').map(escape).join('(?: | > )')}$`], { encoding: 'utf8' });
  const passedOne = /Tests\s+1 passed/.test(result.stdout);
  console.log(`${passedOne ? 'ok  ' : 'FAIL'} ${file.replace(`${process.cwd()}/`, '')} > ${name}`);
  if (!passedOne) failed.push(`${file} > ${name}\n${result.stdout.slice(-3000)}`);
}
if (failed.length > 0) {
  console.error(`\n${failed.length} test(s) fail when run alone:\n\n${failed.join('\n\n')}`);
  process.exit(1);
}
