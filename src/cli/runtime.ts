// What every command file takes from the program that registers it: the runner that gives a
// handler its context, and the examples at the end of its help. Kept apart from program.ts, which
// imports every command file, so no command file imports its importer.
import type { Context } from './context.js';

/** Wraps a command handler: builds the context from the parsed command and keeps it for closing. */
export type Runner = <A extends unknown[]>(handler: (ctx: Context, ...args: A) => Promise<void>) => (...args: unknown[]) => Promise<void>;

export interface Runtime {
  run: Runner;
  /** Contexts created during this run, closed by main(). */
  contexts: Context[];
}

/** `--help` text ending with examples. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
