// `crm init` and `crm db …`: create, inspect, back up, restore and maintain the database file.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ValidationError } from '../../domain/errors.js';
import { isPostgresUrl } from '../../db/postgres-url.js';
import { warnOfPasswordInUrl, type Context } from '../context.js';
import { examples, type Runtime } from '../program.js';

/** Opens the database without applying migrations (status and migrate report them first). */
async function openUnmigrated(ctx: Context) {
  const path = ctx.dbPath();
  if (isPostgresUrl(path)) {
    warnOfPasswordInUrl(ctx);
    const { openDatabase } = await import('../../db/connection.js');
    const { schemaStatus } = await import('../../db/migrator.js');
    const db = await openDatabase(path, { migrate: false, env: ctx.deps.env });
    return { db, path, status: await schemaStatus(db) };
  }
  if (!existsSync(path)) {
    throw new ValidationError(`no database at ${path}`, { hint: '`crm init` creates it (or check --db / CRM_DB)' });
  }
  const { openDatabase } = await import('../../db/connection.js');
  const { schemaStatus } = await import('../../db/migrator.js');
  const db = await openDatabase(path, { migrate: false });
  return { db, path, status: await schemaStatus(db) };
}

function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function registerDb(program: Command, { run }: Runtime): void {
  program
    .command('init')
    .description('create the database (or bring its schema up to date) and print its path')
    .addHelpText('after', examples('crm init', 'crm --db ./shop.db init'))
    .action(
      run(async (ctx) => {
        const handle = await ctx.db();
        if (isPostgresUrl(ctx.dbPath())) {
          // The URL as crm understood it, PG* variables filled in, never the password.
          const { postgresTargetOf } = await import('../../db/postgres.js');
          await ctx.printText(postgresTargetOf(handle)!.display);
          return;
        }
        await ctx.printText(ctx.dbPath());
      }),
    );

  const db = program.command('db').description('inspect, back up, restore and maintain the database')
    .addHelpText('after', examples('crm db status', 'crm db backup', 'crm db check'));

  db.command('status')
    .description('path, size, schema version and row counts of the database (does not migrate)')
    .addHelpText('after', examples('crm db status', 'crm db status --format json'))
    .action(
      run(async (ctx) => {
        const { db: handle, path, status } = await openUnmigrated(ctx);
        try {
          if (isPostgresUrl(path)) {
            const { postgresStatus } = await import('../../db/postgres.js');
            const info = await postgresStatus(handle);
            await ctx.printDocument([
              {
                key: 'database',
                title: 'Database',
                columns: [
                  { key: 'backend' },
                  { key: 'url' },
                  { key: 'server_version' },
                  { key: 'schema' },
                  { key: 'size' },
                  { key: 'size_bytes', kind: 'int' },
                  { key: 'schema_version' },
                  { key: 'migrations_applied', kind: 'int' },
                  { key: 'migrations_pending' },
                ],
                record: {
                  backend: 'postgresql',
                  url: info.url,
                  server_version: info.serverVersion,
                  schema: info.schema,
                  size: humanBytes(info.sizeBytes),
                  size_bytes: info.sizeBytes,
                  schema_version: status.version,
                  migrations_applied: status.applied.length,
                  migrations_pending: status.pending.length ? status.pending.join(' ') : 'none',
                },
              },
              { key: 'tables', title: 'Tables', columns: [{ key: 'table' }, { key: 'rows', kind: 'int' }], rows: info.tables.map((t) => ({ ...t })) },
            ]);
            return;
          }
          const { databaseStatus } = await import('../../services/database.js');
          const info = await databaseStatus(handle, resolve(path), status.pending, status.applied);
          await ctx.printDocument([
            {
              key: 'database',
              title: 'Database',
              columns: [
                { key: 'path' },
                { key: 'size' },
                { key: 'size_bytes', kind: 'int' },
                { key: 'schema_version' },
                { key: 'migrations_applied', kind: 'int' },
                { key: 'migrations_pending' },
                { key: 'journal_mode' },
              ],
              record: {
                path: info.path,
                size: humanBytes(info.sizeBytes),
                size_bytes: info.sizeBytes,
                schema_version: info.schemaVersion,
                migrations_applied: info.applied,
                migrations_pending: info.pending.length ? info.pending.join(' ') : 'none',
                journal_mode: info.journalMode,
              },
            },
            { key: 'tables', title: 'Tables', columns: [{ key: 'table' }, { key: 'rows', kind: 'int' }], rows: info.tables.map((t) => ({ ...t })) },
          ]);
        } finally {
          await handle.destroy();
        }
      }),
    );

  db.command('migrate')
    .description('apply pending schema migrations (every command also does this on first use)')
    .addHelpText('after', examples('crm db migrate'))
    .action(
      run(async (ctx) => {
        const { db: handle, status } = await openUnmigrated(ctx);
        try {
          if (status.pending.length === 0) {
            ctx.note(`the schema is up to date (${status.version ?? 'empty'})`);
            return;
          }
          const { migrateToLatest } = await import('../../db/migrator.js');
          const applied = await migrateToLatest(handle);
          ctx.note(`applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}`);
        } finally {
          await handle.destroy();
        }
      }),
    );

  db.command('backup')
    .description('copy the database while it is in use (SQLite online backup), private file mode 0600; prints the path')
    .argument('[file]', 'where to write (default: backups/crm-YYYYMMDD-HHMMSS.db beside the database)')
    .addHelpText('after', examples('crm db backup', 'crm db backup ~/safe/crm-monday.db'))
    .action(
      run(async (ctx, file: string | undefined) => {
        const { backupDatabase, defaultBackupPath } = await import('../../services/database.js');
        const handle = await ctx.db();
        const target = resolve(file ?? defaultBackupPath(ctx.dbPath(), ctx.now()));
        if (target === resolve(ctx.dbPath())) throw new ValidationError('the backup cannot replace the database itself', { hint: 'give another file name' });
        if (existsSync(target)) await ctx.confirm(`Overwrite ${target}?`);
        const result = await backupDatabase(handle, target);
        ctx.note(`backed up ${humanBytes(result.bytes)} to ${result.path}`);
        await ctx.printText(result.path);
      }),
    );

  db.command('restore')
    .description('replace the database with a backup (checked first; the current file is kept in backups/)')
    .argument('<file>', 'a database written by `crm db backup`')
    .addHelpText('after', examples('crm db restore backups/crm-20250301-093000.db', 'crm db restore ~/safe/crm-monday.db --yes'))
    .action(
      run(async (ctx, file: string) => {
        const { defaultBackupPath, inspectCrmDatabase, recordRestore, restoreDatabase } = await import('../../services/database.js');
        const path = resolve(ctx.dbPath());
        const source = resolve(file);
        if (source === path) throw new ValidationError('that file is the database itself', { hint: 'give a backup file' });
        const candidate = inspectCrmDatabase(source);
        const keep = existsSync(path) ? defaultBackupPath(path, ctx.now(), 'crm-before-restore') : undefined;
        await ctx.confirm(`Replace ${path} with ${source} (${candidate.customers} customer${candidate.customers === 1 ? '' : 's'})?`);
        await restoreDatabase(source, path, keep);
        // Bring an older backup's schema up to date now rather than on the next command, and
        // note the restore in the restored file's audit trail.
        await recordRestore(await ctx.db(), { source, keptAt: keep }, ctx.meta());
        ctx.note(`restored ${path} from ${source}${keep ? `; the previous file is ${keep}` : ''}`);
      }),
    );

  db.command('check')
    .description('integrity and foreign-key checks, then data quality (missing or invalid contact details, likely duplicates, quiet customers, orphans); exit 1 on an integrity problem')
    .addHelpText('after', examples('crm db check', 'crm db check --format json'))
    .action(
      run(async (ctx) => {
        const { checkDatabase } = await import('../../services/database.js');
        const { dataQualityReport } = await import('../../services/quality.js');
        const handle = await ctx.db();
        const result = await checkDatabase(handle);
        const findings = await dataQualityReport(handle, ctx.now());
        await ctx.printDocument(
          [
            {
              key: 'integrity',
              title: 'Integrity',
              columns: [{ key: 'check' }, { key: 'status' }, { key: 'detail' }],
              rows: result.findings.map((f) => ({ ...f })),
            },
            {
              key: 'data',
              title: 'Data quality',
              columns: [{ key: 'check' }, { key: 'count', kind: 'int' }, { key: 'hint' }],
              rows: findings.map((f) => ({ ...f })),
            },
          ],
          { highlight: (row) => (row.status === 'problem' ? 'error' : row.status === 'warning' ? 'warn' : undefined) },
        );
        const problems = result.findings.filter((f) => f.status === 'problem').length;
        if (!result.ok) throw new ValidationError(`the database check found ${problems} problem${problems === 1 ? '' : 's'}`, { hint: 'restore a backup with `crm db restore FILE`, or ask for help with the output above' });
      }),
    );

  db.command('optimize')
    .description('refresh query statistics, fold the write-ahead log in and reclaim free space (VACUUM)')
    .addHelpText('after', examples('crm db optimize'))
    .action(
      run(async (ctx) => {
        const { optimizeDatabase } = await import('../../services/database.js');
        const result = await optimizeDatabase(await ctx.db(), ctx.dbPath());
        ctx.note(`optimized: ${humanBytes(result.beforeBytes)} → ${humanBytes(result.afterBytes)}`);
      }),
    );
}
