// Keeps imports flowing one way: cli → services → db/domain; io is used by cli only; domain is pure.
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
  'src/services': { allowed: /^(src\/services|src\/db|src\/domain|migrations|kysely|better-sqlite3|node:crypto|node:fs|node:path|node:os)/, why: 'services use db and domain only (no io, commander or console)' },
  'src/db': { allowed: /^(src\/db|src\/domain|migrations|kysely|better-sqlite3|pg$|node:)/, why: 'db knows only the schema and the drivers (SQLite, PostgreSQL)' },
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
