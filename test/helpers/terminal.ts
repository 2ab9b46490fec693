// Runs crm on a real pseudo-terminal: `script` gives it a TTY, the test types each answer once the
// output matches its prompt.
import { spawn, spawnSync } from 'node:child_process';
import { baseEnv, CRM_BIN } from './cli.js';

export const hasScript = spawnSync('script', ['--version']).status === 0;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function onTerminal(
  args: string[],
  answers: [RegExp, string][],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, CRM_BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: baseEnv({ TERM: 'xterm', ...env }) });
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
