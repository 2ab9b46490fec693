// `crm sql "<SELECT …>"`: a read-only query, printed in any --format (issue 8).
import type { Command } from 'commander';
import { UsageError } from '../../domain/errors.js';
import type { Column } from '../../io/render.js';
import { examples, type Runtime } from '../runtime.js';

/** The most rows the table format lays out; 700,000 rows took 1.6 GB. */
const TABLE_ROW_CAP = 10_000;
// Grouped by hand, not toLocaleString: that loads ICU's number data (~20 ms) on every command's start.
const TABLE_ROW_CAP_SHOWN = String(TABLE_ROW_CAP).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function registerSql(program: Command, { run }: Runtime): void {
  program
    .command('sql')
    .description('run one read-only SQL query and print the rows in any --format')
    .argument('<query>', 'one SELECT (or WITH … SELECT) statement')
    .option('--timeout <seconds>', 'stop the query after this many seconds of running (default 60)')
    .addHelpText(
      'after',
      `\nThe query runs on a separate read-only connection; statements that write, ATTACH, PRAGMA and more
than one statement are refused. A query still running after --timeout seconds is stopped (exit 1).
The table format shows at most ${TABLE_ROW_CAP_SHOWN} rows (a note on stderr says when there were more);
csv, tsv, json, ndjson and md stream every row.\n` +
        examples('crm sql "SELECT city, count(*) AS customers FROM customers GROUP BY city ORDER BY 2 DESC"', 'crm sql "SELECT * FROM sales WHERE voided_at IS NULL" --format csv --output sales.csv'),
    )
    .action(
      run(async (ctx, text: string, flags: { timeout?: string }) => {
        const timeoutSeconds = flags.timeout === undefined ? 60 : Number(flags.timeout);
        if (!/^\s*\d*\.?\d+\s*$/.test(flags.timeout ?? '60') || !(timeoutSeconds > 0) || timeoutSeconds > 2_147_483) {
          throw new UsageError(`--timeout "${flags.timeout}" is not a number of seconds greater than 0`);
        }
        const format = ctx.format();
        const db = await ctx.db();
        const { openReadOnlyQuery } = await import('../../services/sql.js');
        const { isPostgresUrl } = await import('../../db/postgres-url.js');
        const postgres = isPostgresUrl(ctx.dbPath()) ? db : undefined;
        const query = await openReadOnlyQuery(ctx.dbPath(), text, { timeoutSeconds, key: postgres ? undefined : await ctx.dbKey(), postgres });
        try {
          const used = new Set<string>();
          const keys = query.columns.map((c) => {
            let key = c.name;
            for (let n = 2; used.has(key); n++) key = `${c.name}_${n}`;
            used.add(key);
            return key;
          });
          const columns: Column[] = query.columns.map((c, i) => ({ key: keys[i]!, header: c.name, kind: c.integer ? 'int' : 'text' }));
          // A table is laid out from all its rows, so it is capped; the other formats stream.
          const cap = format === 'table' ? TABLE_ROW_CAP : Infinity;
          let capped = false;
          async function* rows() {
            let count = 0;
            for await (const values of query.rows) {
              if (count++ === cap) {
                capped = true;
                return;
              }
              yield Object.fromEntries(keys.map((k, i) => [k, values[i]]));
            }
          }
          await ctx.printStream(columns, rows());
          if (capped) {
            ctx.note(`showing the first ${TABLE_ROW_CAP.toLocaleString('en-US')} rows; the query returned more (add LIMIT, or use --format csv, tsv, ndjson or md, which stream every row)`);
          }
        } catch (error) {
          if (error instanceof Error && error.name === 'SqliteError') throw new UsageError(`the query failed: ${error.message}`);
          throw error;
        } finally {
          query.close();
        }
      }),
    );
}
