// Turns any thrown value into the lines a user sees on stderr and the contract's exit code.
// Known failures (typed errors, SQLite and file-system errors) get one clear `error:` line and
// an optional `hint:`; anything else is an internal error, with a stack only under CRM_DEBUG=1.
import { CrmError } from '../domain/errors.js';
import { escapeControl } from './terminal.js';

export interface Failure {
  exitCode: number;
  lines: string[];
}

interface SqliteLikeError extends Error {
  code: string;
}

function isSqliteError(error: unknown): error is SqliteLikeError {
  return error instanceof Error && error.name === 'SqliteError' && typeof (error as SqliteLikeError).code === 'string';
}

const SQLITE_MESSAGES: Array<[RegExp, string, string | undefined]> = [
  [/^SQLITE_READONLY/, 'the database is read-only', 'check the permissions of the database file and its folder'],
  [/^SQLITE_BUSY|^SQLITE_LOCKED/, 'the database is busy: another crm is writing to it', 'try again in a moment'],
  [/^SQLITE_CANTOPEN/, 'cannot open the database file', 'check that the path exists and its folder is writable'],
  [/^SQLITE_NOTADB/, 'the file is not a SQLite database', undefined],
  [/^SQLITE_CORRUPT/, 'the database file is damaged', 'restore it from a backup with `crm db restore`'],
  [/^SQLITE_FULL/, 'the disk is full', 'free some space and try again; nothing was changed'],
  [/^SQLITE_IOERR/, 'the database file could not be read or written', undefined],
  [/^SQLITE_PERM|^SQLITE_AUTH/, 'permission denied by the database', undefined],
];

const FS_MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'the disk is full',
  EEXIST: 'already exists',
};

export function describeFailure(error: unknown, debug: boolean): Failure {
  const stack = debug && error instanceof Error && error.stack ? [error.stack] : [];
  if (error instanceof CrmError) {
    // Messages quote user data: control characters are escaped so each stays one harmless line.
    const lines = [`error: ${escapeControl(error.message)}`, ...error.details.map(escapeControl)];
    if (error.hint) lines.push(`hint: ${escapeControl(error.hint)}`);
    return { exitCode: error.exitCode, lines: [...lines, ...stack] };
  }
  if (isSqliteError(error)) {
    const known = SQLITE_MESSAGES.find(([pattern]) => pattern.test(error.code));
    if (known) {
      const lines = [`error: ${known[1]} (${error.message})`];
      if (known[2]) lines.push(`hint: ${known[2]}`);
      return { exitCode: 1, lines: [...lines, ...stack] };
    }
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code && FS_MESSAGES[code] && error instanceof Error) {
    const path = (error as NodeJS.ErrnoException).path;
    const what = path ? `${path}: ${FS_MESSAGES[code]}` : FS_MESSAGES[code];
    return { exitCode: 1, lines: [`error: ${what}`, ...stack] };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    exitCode: 1,
    lines: [`error: internal error: ${message}`, ...(debug ? stack : ['hint: run again with CRM_DEBUG=1 for details'])],
  };
}
