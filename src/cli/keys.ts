// Where the key of an encrypted database comes from: `--key-file FILE` or CRM_KEY_FILE (a private
// file, refused when others may read it, as ssh refuses such keys), else a prompt when a person is
// at the terminal, else CRM_KEY (the least safe: the environment of a process can be read by the
// same user and often ends up in logs). The key itself is never printed, logged or put in argv.
import { readFileSync, statSync } from 'node:fs';
import { UsageError, ValidationError } from '../domain/errors.js';
import type { Prompter } from '../io/prompts.js';

export interface KeySources {
  /** `--key-file` (or another flag naming a key file), else undefined. */
  file: string | undefined;
  /** Which flag or variable named the file, for messages. */
  fileOrigin: string;
  env: NodeJS.ProcessEnv;
  interactive: boolean;
  prompter: () => Prompter;
}

/** Reads a key file: private (no access for group or others), not empty; one final newline is not part of the key. */
export function readKeyFile(path: string, origin: string): Buffer {
  let mode: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ValidationError(`${origin} ${path} is not a file`);
    mode = stat.mode;
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`${origin} ${path}: no such file`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ValidationError(`${origin} ${path} is accessible by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); refusing to use it`, {
      hint: `make it private: chmod 600 ${path}`,
    });
  }
  let key = readFileSync(path);
  if (key.at(-1) === 0x0a) key = key.subarray(0, key.at(-2) === 0x0d ? -2 : -1);
  if (key.length === 0) throw new ValidationError(`${origin} ${path} is empty`, { hint: 'put the key (a long passphrase) in the file' });
  return key;
}

function fromEnvText(text: string, origin: string): Buffer {
  if (text.length === 0) throw new ValidationError(`${origin} is empty`);
  return Buffer.from(text, 'utf8');
}

/** The key given without asking: a key file, else CRM_KEY; undefined when neither is set. */
export function givenKey(sources: KeySources): Buffer | undefined {
  if (sources.file) return readKeyFile(sources.file, sources.fileOrigin);
  if (sources.env.CRM_KEY_FILE) return readKeyFile(sources.env.CRM_KEY_FILE, 'CRM_KEY_FILE');
  if (sources.env.CRM_KEY !== undefined) return fromEnvText(sources.env.CRM_KEY, 'CRM_KEY');
  return undefined;
}

function keyFileGiven(sources: KeySources): boolean {
  return Boolean(sources.file || sources.env.CRM_KEY_FILE);
}

/**
 * The key of an existing encrypted file: key file, else a prompt on a terminal, else CRM_KEY;
 * with none of them, the error says the file is encrypted and how to give its key.
 */
export async function existingKey(sources: KeySources, what: string): Promise<Buffer> {
  if (keyFileGiven(sources)) return givenKey(sources)!;
  if (sources.interactive) {
    const answer = await sources.prompter().password(`Key of ${what}:`);
    return fromEnvText(answer, 'the key');
  }
  const key = givenKey(sources);
  if (key) return key;
  throw new ValidationError(`${what} is encrypted and no key was given`, {
    hint: 'give its key with --key-file FILE (or CRM_KEY_FILE=FILE), or run in a terminal to be asked',
  });
}

/**
 * A new key: the key file, else asked twice on a terminal, else CRM_KEY. `fromEnvironment: false`
 * (rekey, whose CRM_KEY_FILE / CRM_KEY hold the current key) takes only the flag or the prompt.
 */
export async function newKey(sources: KeySources, flag: string, fromEnvironment = true): Promise<Buffer> {
  if (sources.file) return readKeyFile(sources.file, sources.fileOrigin);
  if (fromEnvironment && sources.env.CRM_KEY_FILE) return readKeyFile(sources.env.CRM_KEY_FILE, 'CRM_KEY_FILE');
  if (sources.interactive) {
    const first = await sources.prompter().password('New key:');
    if (first.length === 0) throw new ValidationError('the key is empty; nothing was changed');
    const second = await sources.prompter().password('Repeat the new key:');
    if (first !== second) throw new ValidationError('the two keys differ; nothing was changed', { hint: 'type the same key twice' });
    return Buffer.from(first, 'utf8');
  }
  const key = fromEnvironment ? givenKey(sources) : undefined;
  if (key) return key;
  throw new UsageError(`a new key is needed: give ${flag}`, { hint: `or run in a terminal to be asked for it twice` });
}
