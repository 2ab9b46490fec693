// The skeleton every command stands on: database creation, exit codes, errors, global flags.
import { statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCrm, sandbox, type Sandbox } from '../helpers/cli.js';

let box: Sandbox;
afterEach(() => box?.cleanup());

describe('crm basics', () => {
  it('prints its version', () => {
    const result = runCrm(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('prints the same version on the quick path (--version alone, -V) as through the full program', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    box = sandbox();
    const full = runCrm(['--db', join(box.dir, 'crm.db'), '--version']);
    expect(full).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    for (const flag of ['--version', '-V']) expect(runCrm([flag])).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('creates a private database on init and prints its path', () => {
    box = sandbox();
    const path = join(box.dir, 'sub', 'folder', 'crm.db');
    const result = runCrm(['--db', path, 'init']);
    expect(result).toMatchObject({ code: 0, stdout: `${path}\n` });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(box.dir, 'sub', 'folder')).mode & 0o777).toBe(0o700);
  });

  it('accepts global flags after the subcommand', () => {
    box = sandbox();
    const result = runCrm(['init', '--db', box.dbPath]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${box.dbPath}\n`);
  });

  it('rejects an unknown option with exit 2', () => {
    const result = runCrm(['--bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown option '--bogus'/m);
  });

  it('refuses a file that is not SQLite and leaves it byte-for-byte as it was', () => {
    box = sandbox();
    const path = join(box.dir, 'notes.txt');
    writeFileSync(path, 'my shopping list\n');
    const result = runCrm(['--db', path, 'init']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*not a SQLite database/m);
    expect(readFileSync(path, 'utf8')).toBe('my shopping list\n');
  });

  it('refuses --db :memory: as a usage error', () => {
    const result = runCrm(['--db', ':memory:', 'init']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: /);
  });

  it('names a missing required flag without a TTY and writes nothing', () => {
    box = sandbox();
    box.ok(['init']);
    const before = box.dump();
    // A customer needs a name, email, phone or external id; a city alone names nobody.
    const result = box.run(['customer', 'add', '--city', 'Paris']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: missing required option --name$/m);
    expect(box.dump()).toBe(before);
  });
});
