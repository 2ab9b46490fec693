// `crm init` and `crm db …`: create, inspect, back up, restore and maintain the database file.
import type { Command } from 'commander';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, ValidationError } from '../../domain/errors.js';
import { isPostgresUrl } from '../../db/postgres-url.js';
import { warnOfPasswordInUrl, type Context } from '../context.js';
import { examples, type Runtime } from '../runtime.js';

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
  const db = await openDatabase(path, { migrate: false, key: await ctx.dbKey() });
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

/** The database file to encrypt, decrypt or rekey: it must exist, be current and be a crm file. */
async function rewriteTarget(ctx: Context, verb: 'encrypt' | 'decrypt' | 'rekey'): Promise<{ path: string; state: string }> {
  if (isPostgresUrl(ctx.dbPath())) {
    throw new ValidationError(`\`crm db ${verb}\` works on a local SQLite file; on PostgreSQL, encryption at rest is the server's job (encrypted storage)`, {
      hint: 'reach the server over TLS with sslmode=verify-full (see "Roles and access" in the README)',
    });
  }
  const path = resolve(ctx.dbPath());
  const { fileState } = await import('../../db/encryption.js');
  const state = fileState(path);
  if (state === 'missing' || state === 'empty') {
    throw new ValidationError(`no database at ${path}`, { hint: '`crm init` creates it (or check --db / CRM_DB)' });
  }
  if (state === 'foreign') throw new ValidationError(`${path} is not a SQLite database; nothing was changed`);
  return { path, state };
}

/** Notes an encrypt/decrypt/rekey in the audit trail (never the key), on the rewritten file. */
async function recordKeyChange(ctx: Context, action: string, summary: string): Promise<void> {
  const { recordFileEvent } = await import('../../services/database.js');
  await recordFileEvent(await ctx.db(), action, summary, ctx.meta());
}

/**
 * Copies the open database into `to` (a postgres:// URL or a SQLite file, given crm's schema first);
 * a file this created is removed again when the copy fails. Returns the target as shown to people.
 */
async function copyInto(ctx: Context, to: string): Promise<{ copied: { table: string; rows: number }[]; target: string }> {
  const { openDatabase } = await import('../../db/connection.js');
  const { copyDatabase } = await import('../../db/database-copy.js');
  const { urlHasPassword } = await import('../../db/postgres-url.js');
  const toPostgres = isPostgresUrl(to);
  if (toPostgres && urlHasPassword(to)) ctx.warn('the password in --to is visible to other local users (ps, shell history); set PGPASSWORD or use ~/.pgpass instead');
  if (!toPostgres && resolve(to) === resolve(ctx.dbPath())) throw new ValidationError('the target is the database itself; nothing was written', { hint: 'give another file or a postgres:// URL' });
  const source = await ctx.db();
  const created = !toPostgres && !existsSync(to);
  let target;
  try {
    target = await openDatabase(to, { env: ctx.deps.env });
  } catch (error) {
    if (created) removeSqliteFile(to);
    throw error;
  }
  let shown = to;
  try {
    if (toPostgres) {
      const { postgresTargetOf } = await import('../../db/postgres.js');
      shown = postgresTargetOf(target)!.display;
      const here = isPostgresUrl(ctx.dbPath()) ? postgresTargetOf(source)?.display : undefined;
      if (here === shown) throw new ValidationError('the target is the database itself; nothing was written', { hint: 'give another database' });
    } else {
      shown = resolve(to);
    }
    const copied = await copyDatabase(source, target, shown);
    await target.destroy();
    return { copied, target: shown };
  } catch (error) {
    await target.destroy().catch(() => undefined);
    if (created) removeSqliteFile(to);
    throw error;
  }
}

function removeSqliteFile(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
}

export function registerDb(program: Command, { run }: Runtime): void {
  program
    .command('init')
    .description('create the database (or bring its schema up to date) and print its path')
    .option('--force', "add crm's tables to an existing SQLite file of another application (its own tables are left as they are)")
    .addHelpText('after', examples('crm init', 'crm --db ./shop.db init', 'crm --db ./app.sqlite init --force'))
    .action(
      run(async (ctx, flags: { force?: boolean }) => {
        if (isPostgresUrl(ctx.dbPath())) {
          const handle = await ctx.db();
          // The URL as crm understood it, PG* variables filled in, never the password.
          const { postgresTargetOf } = await import('../../db/postgres.js');
          await ctx.printText(postgresTargetOf(handle)!.display);
          return;
        }
        // Unlike every other command, init may set up an existing empty file (and, with --force,
        // another application's file): the user named this file to become a crm database.
        const { openDatabase } = await import('../../db/connection.js');
        const handle = await openDatabase(ctx.dbPath(), { init: true, force: flags.force === true, key: await ctx.dbKey() });
        await handle.destroy();
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
                { key: 'encryption' },
              ],
              record: {
                path: info.path,
                size: humanBytes(info.sizeBytes),
                size_bytes: info.sizeBytes,
                schema_version: info.schemaVersion,
                migrations_applied: info.applied,
                migrations_pending: info.pending.length ? info.pending.join(' ') : 'none',
                journal_mode: info.journalMode,
                encryption: info.encryption,
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

  db.command('copy')
    .description('copy the whole database into an empty one, SQLite or PostgreSQL either way, ids kept')
    .requiredOption('--to <url|file>', 'the target: a postgres:// URL or a SQLite file (created; must hold no crm data)')
    .addHelpText(
      'after',
      `\nThe target gets crm's schema first, then every row of every table in one transaction: a copy that
fails leaves no data behind, and a target already holding crm data is refused (exit 1).\n` +
        examples('crm db copy --to postgres://crm@db.example.com/shop', 'crm --db postgres://crm@db.example.com/shop db copy --to ./shop.db'),
    )
    .action(
      run(async (ctx, flags: { to: string }) => {
        const started = Date.now();
        const { copied, target } = await copyInto(ctx, flags.to);
        const total = copied.reduce((sum, t) => sum + t.rows, 0);
        ctx.note(`copied ${total} row${total === 1 ? '' : 's'} in ${copied.length} tables to ${target} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        await ctx.printDocument([{ key: 'tables', title: 'Copied', columns: [{ key: 'table' }, { key: 'rows', kind: 'int' }], rows: copied.map((t) => ({ ...t })) }]);
      }),
    );

  db.command('backup')
    .description('copy the database while it is in use (SQLite online backup), private file mode 0600; prints the path')
    .argument('[file]', 'where to write (default: backups/crm-YYYYMMDD-HHMMSS.db beside the database)')
    .option('--salvage', 'copy a database that fails its quick check anyway (damage included; an encrypted one byte for byte, under its own key)')
    .option('--backup-key-file <file>', 'encrypt the backup with this key (default: an encrypted database is backed up under its own key)')
    .addHelpText(
      'after',
      `\nA database that fails SQLite's quick check is refused (exit 1): a copy of a damaged file is not a
backup. --salvage copies it all the same, to rescue what can still be read.\n` +
        examples('crm db backup', 'crm db backup ~/safe/crm-monday.db', 'crm db backup rescue.db --salvage', 'crm db backup ~/safe/crm.db --backup-key-file ~/.config/crm/backup.key'),
    )
    .action(
      run(async (ctx, file: string | undefined, flags: { salvage?: boolean; backupKeyFile?: string }) => {
        if (isPostgresUrl(ctx.dbPath())) {
          // A crm SQLite file holding every row: `crm --db FILE` opens it, `crm db restore FILE` loads it back.
          if (!file) throw new UsageError('give the file to write: crm db backup FILE', { hint: 'a PostgreSQL database is backed up into a crm SQLite file' });
          if (flags.salvage || flags.backupKeyFile) throw new UsageError(`${flags.salvage ? '--salvage' : '--backup-key-file'} is for SQLite databases`, { hint: 'back up PostgreSQL with `crm db backup FILE`; encrypt the file afterwards with `crm --db FILE db encrypt`' });
          const { backupToSqliteFile } = await import('../../services/database.js');
          const handle = await ctx.db();
          const target = resolve(file);
          if (existsSync(target)) await ctx.confirm(`Overwrite ${target}?`);
          const result = await backupToSqliteFile(handle, target);
          ctx.note(`backed up ${result.rows} rows (${humanBytes(result.bytes)}) to ${result.path}`);
          await ctx.printText(result.path);
          return;
        }
        const { backupDatabase, defaultBackupPath, quickCheckProblem } = await import('../../services/database.js');
        const handle = await ctx.db();
        const damage = quickCheckProblem(handle);
        if (damage && !flags.salvage) {
          throw new ValidationError(`the database fails its quick check (${damage}); a copy would carry the damage, so nothing was written`, {
            hint: 'see `crm db check`; restore a good backup with `crm db restore FILE`, or copy what can be read with `crm db backup FILE --salvage`',
          });
        }
        if (damage) ctx.warn(`the database fails its quick check (${damage}); copying it anyway (--salvage)`);
        const target = resolve(file ?? defaultBackupPath(ctx.dbPath(), ctx.now()));
        if (target === resolve(ctx.dbPath())) throw new ValidationError('the backup cannot replace the database itself', { hint: 'give another file name' });
        const sourceKey = await ctx.dbKey();
        const { readKeyFile } = await import('../keys.js');
        const targetKey = flags.backupKeyFile ? readKeyFile(flags.backupKeyFile, '--backup-key-file') : sourceKey;
        if (existsSync(target)) await ctx.confirm(`Overwrite ${target}?`);
        const result = await backupDatabase(handle, target, { source: sourceKey, target: targetKey, salvage: Boolean(damage) });
        ctx.note(`backed up ${humanBytes(result.bytes)} to ${result.path}${targetKey ? ' (encrypted)' : ''}`);
        await ctx.printText(result.path);
      }),
    );

  db.command('restore')
    .description('replace the database with a backup (checked first; the current file is kept in backups/)')
    .argument('<file>', 'a database written by `crm db backup`')
    .option('--backup-key-file <file>', "the key of an encrypted backup (default: the database's key, else asked)")
    .addHelpText('after', examples('crm db restore backups/crm-20250301-093000.db', 'crm db restore ~/safe/crm-monday.db --yes', 'crm db restore ~/safe/crm.db --backup-key-file ~/.config/crm/backup.key'))
    .action(
      run(async (ctx, file: string, options: { backupKeyFile?: string }) => {
        const { defaultBackupPath, inspectCrmDatabase, recordRestore, restoreDatabase } = await import('../../services/database.js');
        const { fileState } = await import('../../db/encryption.js');
        if (isPostgresUrl(ctx.dbPath())) {
          // Into an empty PostgreSQL database only: nothing there is replaced.
          const source = resolve(file);
          let backupKey: Buffer | undefined;
          if (fileState(source) === 'encrypted') {
            const { existingKey } = await import('../keys.js');
            backupKey = await existingKey(ctx.keySources(options.backupKeyFile ? { path: options.backupKeyFile, flag: '--backup-key-file' } : undefined), source);
          }
          const { restoreFromSqliteFile } = await import('../../services/database.js');
          const { postgresTargetOf } = await import('../../db/postgres.js');
          const handle = await ctx.db();
          const shown = postgresTargetOf(handle)!.display;
          const { rows } = await restoreFromSqliteFile(handle, source, backupKey, shown);
          await recordRestore(handle, { source }, ctx.meta());
          ctx.note(`restored ${rows} rows into ${shown} from ${source}`);
          return;
        }
        const path = resolve(ctx.dbPath());
        const source = resolve(file);
        if (source === path) throw new ValidationError('that file is the database itself', { hint: 'give a backup file' });
        // The live file's key (to fold in its WAL before keeping it), then the backup's: its own
        // key file, else the database's key, else asked. A restored encrypted backup keeps its key.
        const liveKey = fileState(path) === 'encrypted' ? await ctx.dbKey() : undefined;
        let backupKey: Buffer | undefined;
        if (fileState(source) === 'encrypted') {
          const { existingKey } = await import('../keys.js');
          backupKey = options.backupKeyFile || !liveKey ? await existingKey(ctx.keySources(options.backupKeyFile ? { path: options.backupKeyFile, flag: '--backup-key-file' } : undefined), source) : liveKey;
        }
        const candidate = inspectCrmDatabase(source, backupKey);
        const { checkCrmDatabaseOrNothing } = await import('../../db/sqlite.js');
        checkCrmDatabaseOrNothing(path, liveKey);
        const keep = existsSync(path) ? defaultBackupPath(path, ctx.now(), 'crm-before-restore') : undefined;
        await ctx.confirm(`Replace ${path} with ${source} (${candidate.customers} customer${candidate.customers === 1 ? '' : 's'})?`);
        await restoreDatabase(source, path, keep, { backup: backupKey, live: liveKey });
        ctx.useDbKey(backupKey);
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

  db.command('encrypt')
    .description('encrypt the database file (ChaCha20-Poly1305) with a new key: from --key-file, else asked twice')
    .addHelpText(
      'after',
      `\nThe encrypted copy is written and checked beside the file, then replaces it; no plain copy, WAL or
journal is left. Keep the key file private (chmod 600): without the key the data cannot be read by
anyone, you included. Backups made before stay plain.\n` + examples('crm db encrypt --key-file ~/.config/crm/key', 'crm db encrypt'),
    )
    .action(
      run(async (ctx) => {
        const { path, state } = await rewriteTarget(ctx, 'encrypt');
        if (state === 'encrypted') throw new ValidationError(`${path} is already encrypted; nothing was changed`, { hint: 'to change its key use `crm db rekey`' });
        const { newKey } = await import('../keys.js');
        const key = await newKey(ctx.keySources(), '--key-file FILE');
        const { rewriteDatabase } = await import('../../db/encryption.js');
        rewriteDatabase(path, undefined, key);
        ctx.useDbKey(key);
        await recordKeyChange(ctx, 'db.encrypt', 'encrypted the database file (chacha20)');
        ctx.note(`encrypted ${path}; keep the key safe: without it the data is lost`);
      }),
    );

  db.command('decrypt')
    .description('store the database file unencrypted again (needs its key)')
    .addHelpText('after', examples('crm db decrypt --key-file ~/.config/crm/key'))
    .action(
      run(async (ctx) => {
        const { path, state } = await rewriteTarget(ctx, 'decrypt');
        if (state !== 'encrypted') throw new ValidationError(`${path} is not encrypted; nothing was changed`);
        const key = await ctx.dbKey();
        const { rewriteDatabase } = await import('../../db/encryption.js');
        rewriteDatabase(path, key, undefined);
        ctx.useDbKey(undefined);
        await recordKeyChange(ctx, 'db.decrypt', 'decrypted the database file');
        ctx.note(`decrypted ${path}: it is stored in plain form now`);
      }),
    );

  db.command('rekey')
    .description('change the key of an encrypted database: the current key as usual, the new one from --new-key-file or asked twice')
    .option('--new-key-file <file>', 'the new key (a private file)')
    .addHelpText('after', examples('crm db rekey --key-file ~/.config/crm/key --new-key-file ~/.config/crm/key.new'))
    .action(
      run(async (ctx, options: { newKeyFile?: string }) => {
        const { path, state } = await rewriteTarget(ctx, 'rekey');
        if (state !== 'encrypted') throw new ValidationError(`${path} is not encrypted; nothing was changed`, { hint: 'encrypt it with `crm db encrypt`' });
        const current = await ctx.dbKey();
        const { newKey } = await import('../keys.js');
        const key = await newKey(ctx.keySources({ path: options.newKeyFile, flag: '--new-key-file' }), '--new-key-file FILE', false);
        const { rewriteDatabase } = await import('../../db/encryption.js');
        rewriteDatabase(path, current, key);
        ctx.useDbKey(key);
        await recordKeyChange(ctx, 'db.rekey', 'changed the key of the database file');
        ctx.note(`changed the key of ${path}; the old key no longer opens it (backups keep their own key)`);
      }),
    );

  db.command('optimize')
    .description('prune the change log to change_log_days, refresh query statistics, fold the write-ahead log in and reclaim free space (VACUUM)')
    .addHelpText(
      'after',
      `\nThe change log behind \`crm export --changed-since\` keeps change_log_days days (default 90). Each
optimize notes where the log stands, and prunes what was already in it at a note that many days old:
pruning starts change_log_days after the first optimize. A cursor from before the pruned entries is
refused; a full export prints a new one.
` + examples('crm db optimize', 'crm config set change_log_days 30'),
    )
    .action(
      run(async (ctx) => {
        const { optimizeDatabase } = await import('../../services/database.js');
        const result = await optimizeDatabase(await ctx.db(), ctx.dbPath(), ctx.now());
        const { pruned, keepDays, allowed } = result.changeLog;
        if (allowed) ctx.note(`change log: pruned ${pruned} entr${pruned === 1 ? 'y' : 'ies'} older than ${keepDays} day${keepDays === 1 ? '' : 's'}`);
        else ctx.note('change log: not pruned (only the role that ran `crm init` may prune it)');
        ctx.note(`optimized: ${humanBytes(result.beforeBytes)} → ${humanBytes(result.afterBytes)}`);
      }),
    );
}
