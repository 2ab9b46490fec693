// Prompts on a real terminal: `script` gives crm a pseudo-TTY, the test answers when asked.
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CRM_BIN, sandbox, type Sandbox } from '../helpers/cli.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs crm on a pseudo-terminal; each answer is typed once the output matches its prompt. */
function onTerminal(args: string[], answers: [RegExp, string][]): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, CRM_BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: baseEnv({ TERM: 'xterm' }) });
  let output = '';
  const pending = [...answers];
  const onData = (chunk: Buffer) => {
    // Prompts are drawn with colours and cursor moves; match on the plain text.
    output += chunk.toString().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    while (pending.length && pending[0]![0].test(output)) child.stdin.write(pending.shift()![1]);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe.skipIf(!hasScript)('prompts on a terminal', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
  });
  afterAll(() => box.cleanup());

  it('customer add asks for a missing name', async () => {
    const result = await onTerminal(['--db', box.dbPath, 'customer', 'add', '--email', 'tty@example.com'], [[/Name/, 'Zhang Min\r']]);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/added customer #1 Zhang Min <tty@example\.com>/);
    expect(box.query('SELECT name, email FROM customers')).toEqual([{ name: 'Zhang Min', email: 'tty@example.com' }]);
  });

  it('--no-input never asks, even on a terminal', async () => {
    const result = await onTerminal(['--db', box.dbPath, '--no-input', 'customer', 'add'], []);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/error: missing required option --name/);
  });

  it('customer rm asks for confirmation: no keeps the customer, yes removes it', async () => {
    const no = await onTerminal(['--db', box.dbPath, 'customer', 'rm', '1'], [[/Remove customer #1 Zhang Min <tty@example\.com>\? \(y\/N\)/, 'n\r']]);
    expect(no.code).toBe(1);
    expect(no.output).toMatch(/error: cancelled; nothing was changed/);
    expect(box.query('SELECT count(*) AS n FROM customers')).toEqual([{ n: 1 }]);
    const yes = await onTerminal(['--db', box.dbPath, 'customer', 'rm', '1'], [[/\(y\/N\)/, 'y\r']]);
    expect(yes.code).toBe(0);
    expect(yes.output).toMatch(/removed customer #1 Zhang Min/);
    expect(box.query('SELECT count(*) AS n FROM customers')).toEqual([{ n: 0 }]);
  });
});
