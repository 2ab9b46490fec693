// The world a command sees, injected: the database (opened lazily, so `--help` and `--version`
// never touch it), the clock, the terminal, the output target and the global flags.
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { userInfo } from 'node:os';
import * as privateFiles from '../db/private-files.js';
// Opening a file, reading its key state and its rows are on every local command's path: imported
// here, they are folded into crm.js rather than loaded as chunks of their own (src/db still loads
// the SQLite driver on first use, so a PostgreSQL URL never loads it).
import { fileState } from '../db/encryption.js';
import { openCurrentReader, type Reader } from '../db/reader.js';
import { diskFullError } from '../db/sqlite.js';
import type { DB } from '../db/schema.js';
import { checkDatabaseTarget, isPostgresUrl, urlHasPassword } from '../db/postgres-url.js';
import { PermissionError, UsageError, ValidationError } from '../domain/errors.js';
import { PERMISSIONS, refusal } from '../domain/permissions.js';
import type { Whoami } from '../db/team.js';
import type { Actor, WriteMeta } from '../services/audit.js';
import { colourEnabled, createColour, type Colour } from '../io/colour.js';
import { atomicFileSink, stdoutSink, type OutputSink } from '../io/output.js';
import { createPrompter, type Prompter } from '../io/prompts.js';
import { escapeControl } from '../io/terminal.js';
import type { KeySources } from './keys.js';
import {
  createRowWriter,
  withTextWidths,
  renderDocument,
  renderRows,
  type Column,
  type Format,
  type RenderOptions,
  type Row,
  type Section,
} from '../io/render.js';

/** The process-level things a run needs; tests and main() supply them. */
export interface Deps {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  home: string;
}

export interface GlobalOptions {
  db?: string;
  format?: Format;
  output?: string;
  color: boolean;
  input: boolean;
  yes: boolean;
  keyFile?: string;
}

export interface PrintOptions {
  highlight?: RenderOptions['highlight'];
  /** Formats this command allows (e.g. export: csv, json, ndjson). */
  formats?: readonly Format[];
  /** Start CSV/TSV output with a UTF-8 byte order mark (for Excel). */
  bom?: boolean;
}

/** A required value: the flag that carries it, what to ask, and how to parse the answer. */
export interface Requirement<T> {
  flag: string;
  value: string | undefined;
  message: string;
  parse: (text: string) => T;
}

export interface Context {
  readonly deps: Deps;
  readonly globals: GlobalOptions;
  /** True when a person is at the terminal: stdin and stdout are TTYs and --no-input was not given. */
  readonly interactive: boolean;
  readonly actor: Actor;
  /** Colours for stderr messages. */
  readonly errColour: Colour;
  dbPath(): string;
  db(): Promise<Kysely<DB>>;
  /** Runs a report's queries on the database in one snapshot (PostgreSQL; as they are on SQLite). */
  readSnapshot<T>(read: (db: Kysely<DB>) => Promise<T>): Promise<T>;
  /** Where keys come from for this run; `file` overrides --key-file (e.g. --backup-key-file). */
  keySources(file?: { path: string | undefined; flag: string }): KeySources;
  /**
   * The key for the database file: undefined for a plain file; the key (file, prompt or CRM_KEY)
   * for an encrypted one, else an error saying it is encrypted; for a new file, a given key (never
   * a prompt), with which it is created encrypted.
   */
  dbKey(): Promise<Buffer | undefined>;
  /** The key to use from now on (after the file was encrypted, rekeyed or restored). */
  useDbKey(key: Buffer | undefined): void;
  /**
   * The reads of the hot read paths on either engine (src/db/reader.ts). A SQLite file that is
   * already current is read without loading Kysely (fast start-up); otherwise it goes through db()
   * (create, migrate, or a clear error).
   */
  reader(): Promise<Reader>;
  now(): Date;
  meta(): WriteMeta;
  prompter(): Prompter;
  /** The output format: --format, else table. */
  format(allowed?: readonly Format[]): Format;
  print(columns: readonly Column[], rows: readonly Row[], options?: PrintOptions): Promise<void>;
  printStream(columns: readonly Column[], rows: AsyncIterable<Row> | Iterable<Row>, options?: PrintOptions): Promise<void>;
  printDocument(sections: readonly Section[], options?: PrintOptions): Promise<void>;
  /** Plain text data on stdout (or --output). */
  printText(text: string): Promise<void>;
  /** A message for the person, on stderr. */
  note(message: string): void;
  warn(message: string): void;
  /** Values of required flags, prompting on a TTY; without one, a UsageError naming every missing flag. */
  require<T extends unknown[]>(...requirements: { [K in keyof T]: Requirement<T[K]> }): Promise<T>;
  /** Confirmation for a destructive step: --yes, a prompt on a TTY, or a UsageError. */
  confirm(question: string): Promise<void>;
  /**
   * On PostgreSQL, the session's user and their role in this database's team (opening the
   * database); on SQLite, null (one person, the file's owner).
   */
  teamMember(): Promise<Whoami | null>;
  /** The error to report for `error`: a database error that hides a cause (a full disk) is named for it. */
  explainFailure(error: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** Quotes argv so the audit trail shows a command line that could be pasted back. */
export function commandLine(argv: readonly string[]): string {
  return ['crm', ...argv.slice(2)]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER || env.LOGNAME || 'unknown';
  }
}

/**
 * The commands verified on PostgreSQL so far: their test files pass with CRM_TEST_BACKEND=postgres
 * (issue 14 adds the rest). Any other command on a
 * postgres:// database stops before touching it; CRM_PG_UNVERIFIED=1 lets it run anyway, for the
 * developers measuring which ones work.
 */
const ON_POSTGRES = new Set([
  'init',
  'import',
  'db status',
  'db migrate',
  'db copy',
  'db backup',
  'db restore',
  'db check',
  'db optimize',
  'sql',
  'whoami',
  'team add',
  'team list',
  'team role',
  'team passwd',
  'team disable',
  'team enable',
  'team rm',
  'customer add',
  'customer list',
  'customer show',
  'customer edit',
  'customer rm',
  'customer forget',
  'customer export-data',
  'activity add',
  'activity list',
  'activity thread',
  'segment create',
  'segment list',
  'segment show',
  'segment rm',
  'segment rfm',
  'segment breakdown',
  'customer duplicates',
  'customer merge',
  'audit list',
  'undo',
  'config get',
  'config set',
  'sale record',
  'sale list',
  'sale void',
  'sale refund',
  'sale show',
  'deal add',
  'deal move',
  'deal list',
  'task add',
  'task list',
  'task done',
  'task edit',
  'task rm',
  'agenda',
  'ticket open',
  'ticket update',
  'ticket resolve',
  'ticket show',
  'ticket rate',
  'ticket list',
  'report sales',
  'report customers',
  'report summary',
  'report forecast',
  'report pipeline',
  'customer risk',
  'report risk',
  'report tickets',
  'export',
]);

function commandName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The command's entry in the permissions table: `import sales`, `segment rfm --save`, `sale void`. */
function actionOf(command: Command): string {
  const name = commandName(command);
  if (name === 'import') return `import ${command.args[0] ?? ''}`;
  if ((name === 'segment rfm' || name === 'customer risk') && command.opts().save) return `${name} --save`;
  if ((name === 'customer add' || name === 'customer edit') && command.opts().owner !== undefined) return `${name} --owner`;
  return name;
}

/** A refusal by PostgreSQL itself (insufficient privilege, a row-level security policy). */
function isPostgresRefusal(error: unknown): error is Error & { code: string } {
  return error instanceof Error && (error as { code?: unknown }).code === '42501' && 'severity' in error;
}

/** A password typed inside a --db URL works, but others can read it: say so (CRM_DB is private). */
export function warnOfPasswordInUrl(ctx: Context): void {
  const flag = ctx.globals.db;
  if (flag !== undefined && isPostgresUrl(flag) && urlHasPassword(flag)) {
    ctx.warn('the password in --db is visible to other local users (ps, shell history); set PGPASSWORD or use ~/.pgpass instead');
  }
}

export function createContext(deps: Deps, command: Command): Context {
  const globals = command.optsWithGlobals() as GlobalOptions;
  const { env, stdin, stdout, stderr } = deps;
  const interactive = globals.input !== false && Boolean(stdin.isTTY) && Boolean(stdout.isTTY);
  const actor: Actor = { user: currentUser(env), command: commandLine(deps.argv) };
  const errColour = createColour(colourEnabled({ isTTY: Boolean(stderr.isTTY), noColorFlag: globals.color === false, env }));
  let dbPromise: Promise<Kysely<DB>> | undefined;
  let memberPromise: Promise<Whoami | null> | undefined;
  let keyPromise: Promise<Buffer | undefined> | undefined;
  let currentFile: { reader: Reader; close(): void } | undefined;
  let prompter: Prompter | undefined;

  const dbPath = () => {
    const path = globals.db ?? env.CRM_DB;
    if (path === ':memory:') {
      throw new UsageError('an in-memory database is not offered: crm keeps your data in a file', {
        hint: 'give --db a file path, e.g. --db ./crm.db',
      });
    }
    if (path) checkDatabaseTarget(path);
    // Resolved lazily with the connection module, so start-up does not load SQLite.
    return path ?? '';
  };

  const openSink = (): OutputSink => (globals.output ? atomicFileSink(globals.output, privateFiles) : stdoutSink(stdout));
  const renderOptions = (sink: OutputSink, options: PrintOptions = {}): RenderOptions => ({
    colour: createColour(colourEnabled({ isTTY: sink.isTTY, noColorFlag: globals.color === false, env })),
    highlight: options.highlight,
    // Only a terminal has a width to respect; pipes and --output files get every character.
    maxWidth: sink.isTTY && stdout.columns > 0 ? stdout.columns : undefined,
  });
  const format = (allowed?: readonly Format[]): Format => {
    const chosen = globals.format ?? (allowed && !allowed.includes('table') ? allowed[0]! : 'table');
    if (allowed && !allowed.includes(chosen)) {
      throw new UsageError(`--format ${chosen} is not available here`, { hint: `use one of: ${allowed.join(', ')}` });
    }
    return chosen;
  };
  const emit = async (produce: (sink: OutputSink) => Promise<void>) => {
    const sink = openSink();
    try {
      await produce(sink);
      await sink.end();
    } catch (error) {
      sink.abort();
      throw error;
    }
  };

  const context: Context = {
    deps,
    globals,
    interactive,
    actor,
    errColour,
    dbPath() {
      const flagged = dbPath();
      if (flagged) return flagged;
      const dataHome = env.XDG_DATA_HOME || `${deps.home}/.local/share`;
      return `${dataHome}/crm/crm.db`;
    },
    db() {
      dbPromise ??= (async () => {
        const path = context.dbPath();
        if (isPostgresUrl(path)) {
          const name = commandName(command);
          if (!ON_POSTGRES.has(name) && env.CRM_PG_UNVERIFIED !== '1') {
            throw new ValidationError(`\`crm ${name}\` is not yet available on PostgreSQL`, {
              hint: `on PostgreSQL crm offers ${[...ON_POSTGRES].map((c) => `\`crm ${c}\``).join(', ')} so far; use a SQLite file (--db FILE) for the rest`,
            });
          }
          warnOfPasswordInUrl(context);
        }
        const key = isPostgresUrl(path) ? undefined : await context.dbKey();
        const { openDatabase } = await import('../db/connection.js');
        const db = await openDatabase(path, { env, key });
        if (isPostgresUrl(path)) {
          // crm checks first, for a clear sentence before anything is written; the database
          // enforces the same rules whatever the client (see src/db/team-setup.ts).
          try {
            const { currentMember } = await import('../db/team.js');
            const member = await currentMember(db);
            memberPromise = Promise.resolve(member);
            const refused = refusal(member.role, actionOf(command));
            if (refused) throw new PermissionError(refused);
          } catch (error) {
            await db.destroy();
            throw error;
          }
        }
        return db;
      })();
      return dbPromise;
    },
    async teamMember() {
      if (!isPostgresUrl(context.dbPath())) return null;
      await context.db();
      return memberPromise!;
    },
    async readSnapshot(read) {
      const db = await context.db();
      const { inOneSnapshot } = await import('../db/snapshot.js');
      return inOneSnapshot(db, read);
    },
    keySources(file) {
      return {
        file: file ? file.path : globals.keyFile,
        fileOrigin: file ? file.flag : '--key-file',
        env,
        interactive,
        prompter: () => context.prompter(),
      };
    },
    dbKey() {
      keyPromise ??= (async () => {
        const path = context.dbPath();
        const state = fileState(path);
        if (state === 'plain' || state === 'foreign') return undefined;
        const keys = await import('./keys.js');
        if (state === 'encrypted') return keys.existingKey(context.keySources(), path);
        return keys.givenKey(context.keySources());
      })();
      return keyPromise;
    },
    useDbKey(key) {
      keyPromise = Promise.resolve(key);
    },
    async reader() {
      if (currentFile) return currentFile.reader;
      if (!dbPromise && !isPostgresUrl(context.dbPath())) {
        currentFile = openCurrentReader(context.dbPath(), await context.dbKey());
        if (currentFile) return currentFile.reader;
      }
      const db = await context.db();
      const { readerOf } = await import('../db/dialect.js');
      return readerOf(db);
    },
    now() {
      // CRM_NOW pins the clock; the test suite uses it to check due times and periods.
      if (env.CRM_NOW) {
        const pinned = new Date(env.CRM_NOW);
        if (Number.isNaN(pinned.getTime())) throw new UsageError(`CRM_NOW "${env.CRM_NOW}" is not an ISO timestamp`);
        return pinned;
      }
      return new Date();
    },
    meta() {
      return { now: context.now(), actor };
    },
    prompter() {
      prompter ??= createPrompter(stdin, stderr);
      return prompter;
    },
    format,
    async print(columns, rows, options = {}) {
      const fmt = format(options.formats);
      await emit(async (sink) => {
        await sink.write(await withTextWidths(() => renderRows(fmt, columns, rows, renderOptions(sink, options))));
      });
    },
    async printStream(columns, rows, options = {}) {
      const fmt = format(options.formats);
      await emit(async (sink) => {
        const writer = createRowWriter(fmt, columns, renderOptions(sink, options));
        if (options.bom && (fmt === 'csv' || fmt === 'tsv')) await sink.write('\uFEFF');
        const put = (row: Row): void | Promise<void> => {
          const text = writer.write(row);
          if (text) return sink.write(text);
        };
        // A plain loop for synchronous rows (a reader's on SQLite): for-await would cost a promise per row.
        if (Symbol.iterator in rows) {
          for (const row of rows) {
            const pending = put(row);
            if (pending) await pending;
          }
        } else {
          for await (const row of rows) {
            const pending = put(row);
            if (pending) await pending;
          }
        }
        // A table is laid out here, from the rows the writer kept.
        await sink.write(await withTextWidths(() => writer.end()));
      });
    },
    async printDocument(sections, options = {}) {
      const fmt = format(options.formats);
      await emit(async (sink) => {
        await sink.write(await withTextWidths(() => renderDocument(fmt, sections, renderOptions(sink, options))));
      });
    },
    async printText(text) {
      await emit(async (sink) => {
        await sink.write(text.endsWith('\n') ? text : `${text}\n`);
      });
    },
    // Messages quote user data (names, summaries): control characters are shown escaped, so a
    // stored escape sequence can never drive the terminal.
    note(message) {
      stderr.write(`${escapeControl(message)}\n`);
    },
    warn(message) {
      stderr.write(`${errColour.yellow('warning:')} ${escapeControl(message)}\n`);
    },
    async require(...requirements) {
      const missing = requirements.filter((r) => r.value === undefined);
      if (missing.length > 0 && !interactive) {
        const flags = missing.map((r) => r.flag);
        throw new UsageError(`missing required option${flags.length > 1 ? 's' : ''} ${flags.join(', ')}`, {
          hint: globals.input === false ? 'give the values as flags' : 'give the values as flags, or run in a terminal to be asked',
        });
      }
      const values: unknown[] = [];
      for (const r of requirements) {
        if (r.value !== undefined) {
          values.push(r.parse(r.value));
          continue;
        }
        const answer = await context.prompter().input(r.message, {
          validate: (text) => {
            try {
              r.parse(text);
              return true;
            } catch (error) {
              return error instanceof Error ? error.message : String(error);
            }
          },
        });
        values.push(r.parse(answer));
      }
      return values as never;
    },
    async confirm(question) {
      if (globals.yes) return;
      if (!interactive) {
        // An error line starts in lower case, like every other one, even when the prompt does not.
        const what = question.replace(/\?$/, '');
        throw new UsageError(`${what.charAt(0).toLowerCase()}${what.slice(1)}: refusing without --yes`, {
          hint: 'add --yes to confirm when not running in a terminal',
        });
      }
      const ok = await context.prompter().confirm(question, false);
      if (!ok) throw new ValidationError('cancelled; nothing was changed');
    },
    async explainFailure(error) {
      if (isPostgresRefusal(error)) {
        // Named like crm's own refusals: the member's role and the action, else the server's words.
        const member = await memberPromise?.catch(() => null);
        const permission = PERMISSIONS[actionOf(command)];
        const role = member?.role;
        const who = role ? `${role === 'owner' ? 'an' : 'a'} ${role}${member?.ownOnly ? ' (own customers only)' : ''} user` : 'this user';
        const what = permission ? `${who} may not ${permission.does}` : `${who} may not do this`;
        return new PermissionError(`${what} (${error.message})`, { hint: 'nothing was changed; ask an owner of this database for access' });
      }
      if (!dbPromise && !currentFile) return error;
      return diskFullError(error, context.dbPath()) ?? error;
    },
    async close() {
      currentFile?.close();
      if (!dbPromise) return;
      const db = await dbPromise.catch(() => undefined);
      await db?.destroy();
    },
  };
  return context;
}
