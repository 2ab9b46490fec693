// Helpers for the task and agenda tests: write rows other issues' commands would create (tickets,
// deals, activities) straight into a sandbox database, and read tasks back.
import { ON_POSTGRES, openDb, type Sandbox } from './cli.js';

/**
 * Runs statements on a writable connection to the sandbox database, on either engine; on
 * PostgreSQL a table given ids here has its identity moved past them, as SQLite's would be.
 */
export function write(box: Sandbox, statements: Array<[string, ...unknown[]]>): void {
  if (ON_POSTGRES) {
    for (const [text, ...params] of statements) box.exec(text, ...params);
    for (const table of new Set(statements.map(([text]) => /^\s*INSERT INTO (\w+) \(id\b/.exec(text)?.[1]).filter((t): t is string => t !== undefined))) {
      box.exec(`SELECT setval(pg_get_serial_sequence('crm.${table}', 'id'), (SELECT max(id) FROM ${table}))`);
    }
    return;
  }
  const db = openDb(box.dbPath, { fileMustExist: true });
  try {
    db.transaction(() => {
      for (const [text, ...params] of statements) db.prepare(text).run(...params);
    })();
  } finally {
    db.close();
  }
}

export interface TaskDbRow {
  id: number;
  customer_id: number;
  title: string;
  due_at: string;
  due_has_time: number;
  assignee: string | null;
  priority: string;
  every: string | null;
  status: string;
  done_at: string | null;
  note: string | null;
  recurred_from: number | null;
}

export function tasks(box: Sandbox): TaskDbRow[] {
  return box.query<TaskDbRow>('SELECT * FROM tasks ORDER BY id');
}

export function activity(box: Sandbox, customerId: number, at: string, summary = 'call'): [string, ...unknown[]] {
  return ['INSERT INTO activities (customer_id, type, at, summary, created_at) VALUES (?, ?, ?, ?, ?)', customerId, 'call', at, summary, at];
}

/** Whole calendar days from a to b (`YYYY-MM-DD`), computed independently of the code under test. */
export function dayDiff(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}
