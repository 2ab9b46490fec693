// Runs one read-only statement in a child process, so it can be stopped: better-sqlite3 offers no
// interrupt from the thread that runs a statement, and a worker thread inside a SQLite call can be
// neither terminated nor left behind (Node waits for it on exit). A child is killed outright.
// Rows come back in chunks, one chunk in flight at a time (the child waits for "more"), so memory
// stays flat however many rows the query returns. The time limit counts the time spent waiting for
// the child, not the time the caller takes to write the rows out.
import { spawn } from 'node:child_process';
import { applyKey, CIPHER, cipherKey } from './encryption.js';
import { betterSqlite3 } from './sqlite-driver.js';

/** What SQLite says of a statement before it runs: it does not parse, or what it is. */
export type StatementCheck =
  | { parses: false; /** One statement was expected and there are more. */ several: boolean; message: string }
  | { parses: true; /** SQLite calls it read-only. */ readonly: boolean; /** It returns rows. */ reader: boolean; names: string[] };

/** Prepares `text` on a read-only, query-only connection to `path` (keyed when given), without running it. */
export function checkStatement(path: string, text: string, key: Buffer | undefined): StatementCheck {
  const db = new (betterSqlite3())(path, { readonly: true, fileMustExist: true });
  try {
    if (key) applyKey(db, key);
    db.pragma('query_only = ON');
    db.pragma('trusted_schema = OFF');
    let stmt;
    try {
      stmt = db.prepare(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { parses: false, several: /more than one statement/i.test(message), message };
    }
    return { parses: true, readonly: stmt.readonly, reader: stmt.reader, names: stmt.reader ? stmt.columns().map((c) => c.name) : [] };
  } finally {
    db.close();
  }
}

/** The child's code: CommonJS under `node -e`, loading the driver from this package. */
const CHILD_SOURCE = `
const Database = require('node:module').createRequire(process.argv[1])('better-sqlite3');
const cell = (value) => (Buffer.isBuffer(value) ? "x'" + value.toString('hex') + "'" : value);
const fail = (error) => process.send({ error: { message: String(error && error.message) } }, () => process.exit(0));
process.once('message', (job) => {
  try {
    const db = new Database(job.path, { readonly: true, fileMustExist: true });
    if (job.key) {
      db.pragma("cipher = '" + job.cipher + "'");
      db.pragma("hexkey = '" + job.key + "'");
    }
    db.pragma('query_only = ON');
    db.pragma('trusted_schema = OFF');
    const rows = db.prepare(job.text).raw(true).iterate();
    const pump = () => {
      try {
        let chunk = [];
        for (let next = rows.next(); !next.done; next = rows.next()) {
          chunk.push(next.value.map(cell));
          if (chunk.length >= job.chunkRows) {
            process.send({ rows: chunk, done: false });
            process.once('message', pump);
            return;
          }
        }
        process.send({ rows: chunk, done: true }, () => process.exit(0));
      } catch (error) {
        fail(error);
      }
    };
    pump();
  } catch (error) {
    fail(error);
  }
});
`;

/** Raised when the statement ran longer than its time limit (its process has been killed). */
export class QueryTimeoutError extends Error {
  constructor(readonly seconds: number) {
    super(`the query ran longer than ${seconds} s and was stopped`);
    this.name = 'QueryTimeoutError';
  }
}

/** Raised when SQLite reports an error while running the statement. */
export class QueryFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryFailedError';
  }
}

export interface ChildQuery {
  /** Chunks of raw rows (blobs shown as x'…'); throws QueryTimeoutError or QueryFailedError. */
  chunks(): AsyncGenerator<unknown[][]>;
  /** Kills the query process (also done when the caller stops reading early). */
  stop(): void;
}

type Message = { rows: unknown[][]; done: boolean } | { error: { name: string; message: string } };

export function runQueryInChild(path: string, text: string, options: { timeoutSeconds: number; chunkRows?: number; key?: Buffer | undefined }): ChildQuery {
  const child = spawn(process.execPath, ['-e', CHILD_SOURCE, import.meta.url], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
  const queue: Message[] = [];
  let wake: (() => void) | undefined;
  let exitError: Error | undefined;
  child.on('message', (message: Message) => {
    queue.push(message);
    wake?.();
  });
  child.on('error', (error) => {
    exitError = error;
    wake?.();
  });
  child.on('exit', () => {
    exitError ??= new QueryFailedError('the query process stopped unexpectedly');
    wake?.();
  });
  // The key of an encrypted database goes over the IPC channel, never on the command line.
  child.send({ path, text, chunkRows: options.chunkRows ?? 1000, key: options.key ? cipherKey(options.key).toString('hex') : undefined, cipher: CIPHER });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  let budgetMs = options.timeoutSeconds * 1000;
  let finished = false;

  const next = async (): Promise<Message> => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      while (queue.length === 0) {
        if (exitError) throw exitError;
        const timedOut = await new Promise<boolean>((resolve) => {
          wake = () => resolve(false);
          timer = setTimeout(() => resolve(true), Math.max(0, budgetMs - (Date.now() - started)));
        });
        clearTimeout(timer);
        wake = undefined;
        if (timedOut && queue.length === 0) {
          stop();
          throw new QueryTimeoutError(options.timeoutSeconds);
        }
      }
      return queue.shift()!;
    } finally {
      budgetMs -= Date.now() - started;
    }
  };

  return {
    async *chunks() {
      try {
        for (;;) {
          const message = await next();
          if ('error' in message) throw new QueryFailedError(message.error.message);
          if (message.done) {
            finished = true;
            if (message.rows.length > 0) yield message.rows;
            return;
          }
          // Let the child fetch the next chunk while this one is written out.
          child.send('more');
          yield message.rows;
        }
      } finally {
        if (!finished) stop();
      }
    },
    stop,
  };
}
