// Kysely's SQLite dialect with one change: a transaction that may write starts with
// `BEGIN IMMEDIATE`. Kysely's own driver sends a plain (deferred) `BEGIN`, which takes the write
// lock only at the first write; when another process is writing at that moment, SQLite cannot wait
// for it (the transaction already holds a read snapshot that the other write makes stale) and fails
// at once with "database is locked", whatever the busy timeout. Taking the write lock up front lets
// the busy timeout apply: writers queue instead of failing. A transaction declared read-only
// (`db.transaction().setAccessMode('read only')`) keeps the deferred `BEGIN`, so it never waits for
// a writer.
import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
  type TransactionSettings,
} from 'kysely';

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(settings?.accessMode === 'read only' ? 'begin' : 'begin immediate'));
  }
}

export class CrmSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}
