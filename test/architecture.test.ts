// Keeps imports flowing one way: cli → services → db/domain; io is used by cli only; domain is pure.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found = [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return found.map((m) => m[1] ?? m[2]!);
}

function layerOf(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const target = relative(root, join(root, file, '..', spec));
  return target.split('/').slice(0, 2).join('/');
}

const rules: Record<string, { allowed: RegExp; why: string }> = {
  'src/domain': { allowed: /^(src\/domain)$/, why: 'domain is pure: no I/O, nothing else of ours' },
  'src/services': { allowed: /^(src\/services|src\/db|src\/domain|migrations|kysely|node:crypto|node:fs|node:path|node:os)/, why: 'services use db and domain only (no io, commander or console)' },
  'src/db': { allowed: /^(src\/db|src\/domain|migrations|kysely|better-sqlite3|pg$|pg-copy-streams$|node:)/, why: 'db knows only the schema and the drivers (SQLite, PostgreSQL)' },
  'src/io': { allowed: /^(src\/io|src\/domain|node:|cli-table3|chalk|@inquirer\/prompts|iconv-lite|papaparse|string-width)/, why: 'io uses domain types only' },
  migrations: { allowed: /^(migrations(\/|$)|kysely$)/, why: 'migrations import kysely only' },
};

describe('architecture', () => {
  for (const [layer, rule] of Object.entries(rules)) {
    it(`${layer}: ${rule.why}`, () => {
      const offending: string[] = [];
      for (const file of files(layer)) {
        for (const spec of importsOf(file)) {
          const target = layerOf(file, spec);
          if (!rule.allowed.test(target)) offending.push(`${file} imports ${spec}`);
        }
        const text = readFileSync(join(root, file), 'utf8');
        if (layer === 'src/services' && /\b(console\.|process\.)/.test(text)) offending.push(`${file} uses console or process`);
      }
      expect(offending).toEqual([]);
    });
  }
});

/**
 * What in a service's text reaches past Kysely to a driver: importing one, taking the SQLite handle
 * behind a Kysely instance, or calling a better-sqlite3 statement method on it.
 */
export function driverUses(text: string): string[] {
  const uses = [...text.matchAll(/from\s+['"](better-sqlite3|pg|pg-copy-streams|pg-cursor)['"]|\b(sqliteOf|sqliteHandleOf)\(|\.(prepare|pragma)\(/g)];
  return uses.map((m) => m[1] ?? m[2] ?? `.${m[3]}()`);
}

/**
 * What in a file reaches a row source, src/db's object that runs SQL text: the hot read paths take
 * a Reader (src/db/reader.ts), whose methods return rows by what they mean.
 */
export function rowSourceUses(text: string): string[] {
  return [...text.matchAll(/\b(RowSource|rowSourceOf|sqliteRowSource|openCurrentRowSource)\b|['"][./]*db\/row-source\.js['"]/g)].map((m) => m[1] ?? m[0]);
}

describe('one data path', () => {
  it('services (and the CLI above them) never see a driver: handles, pragmas and raw statements live in src/db', () => {
    const offending = ['src/services', 'src/cli', 'src/io'].flatMap(files).flatMap((file) => driverUses(readFileSync(join(root, file), 'utf8')).map((use) => `${file} uses ${use}`));
    expect(offending).toEqual([]);
  });

  it('services and the CLI read through typed readers: no object that runs SQL text reaches them', () => {
    const offending = ['src/services', 'src/cli', 'src/io'].flatMap(files).flatMap((file) => rowSourceUses(readFileSync(join(root, file), 'utf8')).map((use) => `${file} uses ${use}`));
    expect(offending).toEqual([]);
  });

  it('the row-source check catches the type, its makers and its module', () => {
    const text = "import type { RowSource } from '../db/row-source.js';\nconst rows = rowSourceOf(db);";
    expect(rowSourceUses(text)).toEqual(['RowSource', "'../db/row-source.js'", 'rowSourceOf']);
    expect(rowSourceUses("import type { Reader } from '../db/reader.js';\nconst rows = await reader.customers({});")).toEqual([]);
  });

  it('the check catches a driver import, the handle behind Kysely and a prepared statement', () => {
    const text = "import Database from 'better-sqlite3';\nconst h = sqliteOf(db);\nh.prepare('SELECT 1').get();\nh.pragma('optimize');";
    expect(driverUses(text)).toEqual(['better-sqlite3', 'sqliteOf', '.prepare()', '.pragma()']);
    expect(driverUses("const rows = await db.selectFrom('customers').selectAll().execute();")).toEqual([]);
  });
});

/** Groups of files that import each other in a loop (strongly connected, Tarjan), each sorted. */
export function importLoops(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1 || (graph.get(node) ?? []).includes(node)) loops.push(group.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return loops;
}

describe('no import loops', () => {
  it('no file of src imports, directly or through others, a file that imports it (lazy imports count)', () => {
    const graph = new Map(
      files('src').map((file) => [file, importsOf(file).filter((spec) => spec.startsWith('.')).map((spec) => relative(root, join(root, file, '..', spec)).replace(/\.js$/, '.ts'))]),
    );
    expect(graph.get('src/cli/program.ts')).toContain('src/cli/commands/customer.ts');
    expect(importLoops(graph)).toEqual([]);
  });

  it('the check finds a loop through several files and one of a file importing itself', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(importLoops(graph)).toEqual([['a', 'b', 'c'], ['e']]);
  });
});

/** The imports of a command file that reach another command file (commands share code through src/cli/*.ts). */
export function commandCrossImports(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specs
    .filter((spec) => spec.startsWith('.') && relative(root, join(root, file, '..', spec)).startsWith('src/cli/commands/'))
    .map((spec) => `${file} imports ${spec}`);
}

describe('command files', () => {
  it('never import each other (shared flag parsers and columns live in src/cli)', () => {
    const offending = files('src/cli/commands').flatMap((file) => commandCrossImports(file, readFileSync(join(root, file), 'utf8')));
    expect(offending).toEqual([]);
  });

  it('the check catches a command importing another, statically or lazily', () => {
    const file = 'src/cli/commands/deal.ts';
    expect(commandCrossImports(file, "import { dayFlag } from './sale.js';\nconst t = await import('./task.js');")).toEqual([
      `${file} imports ./sale.js`,
      `${file} imports ./task.js`,
    ]);
    expect(commandCrossImports(file, "import { parseDayFlag } from '../flags.js';\nimport { x } from '../../domain/dates.js';")).toEqual([]);
  });
});

describe('one source for each fact', () => {
  /** Files of src/ whose text matches `pattern`. */
  const filesMatching = (pattern: RegExp) => files('src').filter((file) => pattern.test(readFileSync(join(root, file), 'utf8')));

  it('the applied-migrations query is written once, in src/db', () => {
    expect(filesMatching(/kysely_migration/)).toEqual(['src/db/applied-migrations.ts']);
  });

  it('the open-ticket statuses are written once (ACTIVE_STATUSES)', () => {
    expect(filesMatching(/['"]open['"],\s*['"]pending['"]\s*[\])]/)).toEqual(['src/domain/tickets.ts']);
  });

  it('no profiling output is tracked by git', () => {
    const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n');
    expect(tracked.filter((path) => /(^|\/)(node_trace\.\d+\.log|isolate-.*\.log|.*\.cpuprofile|.*\.heapprofile)$/.test(path))).toEqual([]);
  });
});

describe('the built bundle', () => {
  it('loads nothing of ours but dist/crm.js before a command starts (the chunks it needs are folded in)', () => {
    const text = readFileSync(join(root, 'dist/crm.js'), 'utf8');
    const staticImports = [...text.matchAll(/^import[^;]*?from\s*["'](\.[^"']+)["']/gm)].map((m) => m[1]);
    expect(staticImports).toEqual([]);
    // Later chunks take the folded names from crm.js, and every one of them is exported there.
    const exported = new Set([...text.matchAll(/\b(__chunk\d+_[\w$]+)\b/g)].map((m) => m[1]));
    const chunks = readdirSync(join(root, 'dist/chunks')).filter((f) => f.endsWith('.js'));
    const wanted = chunks.flatMap((f) => [...readFileSync(join(root, 'dist/chunks', f), 'utf8').matchAll(/\b(__chunk\d+_[\w$]+) as /g)].map((m) => m[1]));
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.filter((name) => !exported.has(name))).toEqual([]);
  });
});
