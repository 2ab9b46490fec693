// The in-process runner of the test helpers (test/helpers/in-process.ts) must be indistinguishable
// from a real `crm` process for what tests assert: the same stdout, stderr and exit code, the same
// files written, relative paths read from the same folder, the environment of the run and nothing
// left over from the run before. Each case runs once in-process and once as a real process, on two
// databases built the same way, and compares.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCrm, runCrmProcess, sandbox, type RunOptions, type Sandbox } from '../helpers/cli.js';

const NOW = { CRM_NOW: '2025-06-01T09:00:00Z' };
const boxes: Sandbox[] = [];
afterAll(() => boxes.forEach((b) => b.cleanup()));

/** Two fresh databases with the same three customers: one for each way of running. */
function pair(): [Sandbox, Sandbox] {
  const made = [sandbox(), sandbox()] as [Sandbox, Sandbox];
  for (const box of made) {
    boxes.push(box);
    box.ok(['init'], { env: NOW });
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com', '--city', 'Paris', '--tag', 'vip'], { env: NOW });
    box.ok(['customer', 'add', '--name', 'Ada Byron', '--email', 'ada@example.com', '--city', 'London'], { env: NOW });
    box.ok(['customer', 'add', '--name', 'Zed Zhou', '--email', 'zed@example.com', '--city', 'Paris', '--tag', 'vip', '--tag', 'late'], { env: NOW });
  }
  return made;
}

function both(args: readonly string[], options: RunOptions = {}, boxesOf: [Sandbox, Sandbox] = pair()) {
  const [a, b] = boxesOf;
  // As Sandbox.run does on PostgreSQL (the commands not yet verified there are let through).
  const env = { ...NOW, CRM_PG_UNVERIFIED: '1', ...options.env };
  const inProcess = runCrm(['--db', a.dbPath, ...args], { cwd: a.dir, ...options, env });
  const spawned = runCrmProcess(['--db', b.dbPath, ...args], { cwd: b.dir, ...options, env });
  const strip = (text: string) => text.replace(/crm1\.[0-9a-f]{32}/g, 'crm1.<database>').replace(/ in \d+\.\d s\b/g, ' in <time> s').split(a.dbPath).join('<db>').split(b.dbPath).join('<db>').split(a.dir).join('<dir>').split(b.dir).join('<dir>');
  return { inProcess: { ...inProcess, stdout: strip(inProcess.stdout), stderr: strip(inProcess.stderr) }, spawned: { ...spawned, stdout: strip(spawned.stdout), stderr: strip(spawned.stderr) }, boxes: boxesOf };
}

describe('the in-process runner answers as a real crm process does', () => {
  it.each([
    [['customer', 'list']],
    [['customer', 'list', '--format', 'json']],
    [['customer', 'show', '2', '--format', 'csv']],
    [['report', 'customers']],
    [['customer', 'show', '99']], // exit 1, an error line
    [['customer', 'lst']], // exit 2, commander's error and our hint
    [['customer', 'add', '--name', 'X', '--email', 'li@example.com']], // exit 1: duplicate email
    [['--help']],
    [['customer', 'list', '--where', 'city = ']], // a bad expression
  ])('crm %j', (args) => {
    const { inProcess, spawned } = both(args);
    expect(inProcess).toEqual(spawned);
  });

  it('finds a relative path in the folder the run was given, and writes its output there', () => {
    const { inProcess, spawned, boxes: [a, b] } = both(['export', 'customers', '--output', 'out.csv']);
    expect(inProcess).toEqual(spawned);
    expect(readFileSync(join(a.dir, 'out.csv'), 'utf8')).toBe(readFileSync(join(b.dir, 'out.csv'), 'utf8'));
    expect(readFileSync(join(a.dir, 'out.csv'), 'utf8')).toContain('Ada Byron');
  });

  it('reads stdin as a pipe does', () => {
    const input = 'name,email\nNew One,new@example.com\n';
    const { inProcess, spawned, boxes: [a, b] } = both(['import', 'customers', '-'], { input });
    expect(inProcess).toEqual(spawned);
    expect(inProcess.code).toBe(0);
    expect(a.query('SELECT name FROM customers ORDER BY id')).toEqual(b.query('SELECT name FROM customers ORDER BY id'));
  });

  it('takes the environment of each run, and nothing from the run before', () => {
    const boxesOf = pair();
    // The clock comes from CRM_NOW: each sale takes its run's day, not the day of the run before.
    for (const now of ['2025-03-04T10:00:00Z', '2025-07-08T10:00:00Z']) {
      const run = both(['sale', 'record', '--customer', '1', '--product', 'Tea', '--amount', '5'], { env: { CRM_NOW: now } }, boxesOf);
      expect(run.inProcess).toEqual(run.spawned);
    }
    const list = both(['sale', 'list', '--format', 'csv'], {}, boxesOf);
    expect(list.inProcess).toEqual(list.spawned);
    expect(list.inProcess.stdout).toMatch(/2025-03-04[\s\S]*2025-07-08|2025-07-08[\s\S]*2025-03-04/);
  });

  it('colours output when FORCE_COLOR asks, as a process does, and not in the next run', () => {
    const boxesOf = pair();
    const coloured = both(['customer', 'show', '1'], { env: { FORCE_COLOR: '1' } }, boxesOf);
    expect(coloured.inProcess).toEqual(coloured.spawned);
    const plain = both(['customer', 'show', '1'], {}, boxesOf);
    expect(plain.inProcess).toEqual(plain.spawned);
    expect(plain.inProcess.stdout).not.toContain('\u001b[');
  });
});
