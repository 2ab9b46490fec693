// examples/cron-report.sh runs unattended: no TTY, a minimal environment, files written whole.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED, ON_POSTGRES, sandbox, testKeyPath, type Sandbox } from '../helpers/cli.js';

const SCRIPT = fileURLToPath(new URL('../../examples/cron-report.sh', import.meta.url));

describe('examples/cron-report.sh', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com', '--city', 'Shanghai']);
  });
  afterAll(() => box.cleanup());

  // Like cron: a bare environment, stdin not a terminal, another working directory. On the
  // PostgreSQL pass the server's password travels as a crontab line would give it (PGPASSWORD), and
  // commands not yet marked as offered there are let through as for every sandbox (CRM_PG_UNVERIFIED).
  const pgPassword: Record<string, string> = ON_POSTGRES ? { PGPASSWORD: process.env.PGPASSWORD ?? '', CRM_PG_UNVERIFIED: '1' } : {};
  const cron = (env: Record<string, string>) =>
    spawnSync('/bin/sh', [SCRIPT], { cwd: '/', encoding: 'utf8', env: { HOME: box.dir, PATH: `/usr/bin:/bin:${process.env.PATH}`, ...pgPassword, ...env } });

  it('writes the customers CSV, sales reports, pipeline, tickets and agenda into the report folder', () => {
    const out = join(box.dir, 'reports');
    // Under the encrypted pass the sandbox's database is encrypted: the job names its key file, as documented.
    const result = cron({ CRM_DB: box.dbPath, CRM_REPORT_DIR: out, ...(ENCRYPTED ? { CRM_KEY_FILE: testKeyPath() } : {}) });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const files = readdirSync(out).map((f) => f.replace(/\d{4}-\d{2}-\d{2}/, 'DAY')).sort();
    expect(files).toEqual([
      'agenda-DAY.md',
      'customers-DAY.csv',
      'pipeline-DAY.md',
      'sales-by-product-DAY.csv',
      'sales-last-month-DAY.csv',
      'tickets-DAY.md',
    ]);
    const customers = readdirSync(out).find((f) => f.startsWith('customers-'))!;
    const csv = readFileSync(join(out, customers), 'utf8').split('\r\n');
    expect(csv[0]).toBe('id,name,email,phone,age,gender,company,city,source,external_id,tags,created_at,updated_at');
    expect(csv[1]).toMatch(/^1,Li Wei,li@example\.com,,,,,Shanghai,/);
  });

  it('shows how to name the key file of an encrypted database, and without it fails loudly, writing nothing', () => {
    expect(readFileSync(SCRIPT, 'utf8')).toMatch(/^#\s+0 7 \* \* 1-5 {2}CRM_KEY_FILE="\$HOME\/\.config\/crm\/key" CRM_DB=.*cron-report\.sh$/m);
    const key = join(box.dir, 'cron.key');
    writeFileSync(key, 'the cron job key, long enough\n', { mode: 0o600 });
    chmodSync(key, 0o600);
    const encrypted = join(box.dir, 'encrypted.db');
    box.ok(['--db', encrypted, 'customer', 'add', '--name', 'Ada Obi'], { env: { CRM_KEY_FILE: key, CRM_KEY: undefined } });

    const out = join(box.dir, 'reports-keyed');
    const keyed = cron({ CRM_DB: encrypted, CRM_REPORT_DIR: out, CRM_KEY_FILE: key });
    expect(keyed.stderr).toBe('');
    expect(keyed.status).toBe(0);
    const customers = readdirSync(out).find((f) => f.startsWith('customers-'))!;
    expect(readFileSync(join(out, customers), 'utf8').split('\r\n')[1]).toMatch(/^1,Ada Obi,/);

    const bare = join(box.dir, 'reports-no-key');
    mkdirSync(bare);
    const refused = cron({ CRM_DB: encrypted, CRM_REPORT_DIR: bare });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*encrypted\.db is encrypted and no key was given$/m);
    expect(readdirSync(bare)).toEqual([]);
  });

  it('fails loudly (non-zero, error on stderr) and leaves no partial file when the database is unusable', () => {
    const out = join(box.dir, 'reports-bad');
    mkdirSync(out);
    const notes = join(box.dir, 'notes.txt');
    writeFileSync(notes, 'not a database');
    const result = cron({ CRM_DB: notes, CRM_REPORT_DIR: out });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: .*notes\.txt is not a SQLite database$/m);
    expect(readdirSync(out)).toEqual([]);
  });
});
