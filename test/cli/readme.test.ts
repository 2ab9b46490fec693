// Help is product: every command the built binary offers must appear in README.md as
// `crm <noun> <verb>` (or `crm <command>` for commands without subcommands). The list comes from
// the binary's own --help output, so a command added anywhere is covered without editing this test.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCrm } from '../helpers/cli.js';

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

/** Every leaf command, e.g. ['init', 'customer add', 'db status', …], from each level's --help. */
function leafCommands(path: string[] = []): string[] {
  const { code, stdout, stderr } = runCrm([...path, '--help']);
  if (code !== 0) throw new Error(`crm ${path.join(' ')} --help exited ${code}: ${stderr}`);
  const children = subcommands(stdout);
  if (children.length === 0) return path.length ? [path.join(' ')] : [];
  return children.flatMap((child) => leafCommands([...path, child]));
}

describe('README', () => {
  it('mentions every command the binary offers', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const commands = leafCommands();
    expect(commands).toContain('customer add');
    expect(commands).toContain('db restore');
    const missing = commands.filter((command) => !readme.includes(`crm ${command}`));
    expect(missing, 'commands missing from README.md (add them to your section)').toEqual([]);
  });
});
