// Help is product: every command the built binary offers must appear in README.md as
// `crm <noun> <verb>` (or `crm <command>` for commands without subcommands). The list comes from
// the binary's own --help output, so a command added anywhere is covered without editing this test.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { baseEnv, CRM_BIN } from '../helpers/cli.js';

const run = promisify(execFile);

/** Subcommand names listed under "Commands:" in commander's help text. */
function subcommands(help: string): string[] {
  const start = help.indexOf('\nCommands:\n');
  if (start < 0) return [];
  const names: string[] = [];
  for (const line of help.slice(start + '\nCommands:\n'.length).split('\n')) {
    if (line.trim() === '' || !line.startsWith('  ')) break;
    const match = /^ {2}([a-z][\w-]*)/.exec(line);
    if (match && match[1] !== 'help') names.push(match[1]!);
  }
  return names;
}

/** Every leaf command, e.g. ['init', 'customer add', 'db status', …]; siblings are asked in parallel. */
async function leafCommands(path: string[] = []): Promise<string[]> {
  const { stdout } = await run(process.execPath, [CRM_BIN, ...path, '--help'], { env: baseEnv() });
  const children = subcommands(stdout);
  if (children.length === 0) return path.length ? [path.join(' ')] : [];
  return (await Promise.all(children.map((child) => leafCommands([...path, child])))).flat();
}

describe('README', () => {
  it('mentions every command the binary offers', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const commands = await leafCommands();
    expect(commands).toContain('customer add');
    expect(commands).toContain('db restore');
    const missing = commands.filter((command) => !readme.includes(`crm ${command}`));
    expect(missing, 'commands missing from README.md (add them to your section)').toEqual([]);
  });
});
