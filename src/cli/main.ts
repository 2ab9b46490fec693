// main(argv) → exit code. The only place that catches errors and decides the exit code.
import { CommanderError, type Command } from 'commander';
import { homedir } from 'node:os';
import { removePendingTempFiles } from '../db/private-files.js';
import { describeFailure } from '../io/errors.js';
import type { Deps } from './context.js';
import { buildProgram } from './program.js';

export async function main(deps: Deps): Promise<number> {
  const { program, runtime } = buildProgram(deps);
  try {
    await program.parseAsync(deps.argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other commander complaint is a usage error. Commander has
      // already printed its `error:` line.
      if (error.exitCode === 0) return 0;
      if (error.code !== 'commander.help') {
        const name = commandPath(program, deps.argv.slice(2));
        deps.stderr.write(`hint: run 'crm ${name ? `${name} ` : ''}--help' for usage\n`);
      }
      return 2;
    }
    const failure = describeFailure(error, deps.env.CRM_DEBUG === '1');
    deps.stderr.write(failure.lines.join('\n') + '\n');
    return failure.exitCode;
  } finally {
    for (const ctx of runtime.contexts) await ctx.close().catch(() => undefined);
  }
}

/**
 * The deepest known command named on the command line (`customer` for `crm customer ad`,
 * `activity add` for `crm --db x activity add`), skipping options and their values.
 */
export function commandPath(program: Command, args: readonly string[]): string {
  let command = program;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (arg.includes('=')) continue;
      const option = [...command.options, ...program.options].find((o) => o.long === arg || o.short === arg);
      if (option && (option.required || option.optional)) i++;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    names.push(arg);
    command = sub;
  }
  return names.join(' ');
}

/** Entry used by bin/crm.js. */
export async function run(argv: string[]): Promise<number> {
  // `crm export … | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  // Interrupted: remove the temp files of unfinished outputs and backups, then die of the signal
  // as before (the shell still sees 130/143).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removePendingTempFiles();
      process.kill(process.pid, signal);
    });
  }
  return main({ argv, env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, home: homedir() });
}
