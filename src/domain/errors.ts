// Typed errors shared by every layer. Services throw them; src/cli/main.ts alone turns them into
// exit codes (usage 2, not found / invalid data 1, partial 3) and `error:` / `hint:` lines.

export abstract class CrmError extends Error {
  abstract readonly exitCode: number;
  readonly hint: string | undefined;
  /** Extra lines printed after the error line (e.g. an expression with a caret under it). */
  readonly details: string[];

  constructor(message: string, options: { hint?: string; details?: string[] } = {}) {
    super(message);
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}

/** The command line is wrong: unknown option, missing flag, a value that does not parse. Exit 2. */
export class UsageError extends CrmError {
  readonly exitCode = 2;
}

/** A referenced record does not exist, or a reference matches several. Exit 1. */
export class NotFoundError extends CrmError {
  readonly exitCode = 1;
}

/** The operation cannot be done on this data: conflict, wrong state, invalid rows, bad file. Exit 1. */
export class ValidationError extends CrmError {
  readonly exitCode = 1;
}

/** Part of the work was done and part was rejected (e.g. an import with --skip-invalid). Exit 3. */
export class PartialError extends CrmError {
  readonly exitCode = 3;
}

/** The member's role may not do this (crm's check, or the database's own refusal). Exit 1. */
export class PermissionError extends CrmError {
  readonly exitCode = 1;

  constructor(what: string, options: { hint?: string } = {}) {
    super(`permission denied: ${what}`, options);
  }
}
