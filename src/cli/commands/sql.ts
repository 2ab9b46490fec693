// `crm sql "<SELECT …>"`: a read-only query, printed in any --format (issue 8).
import type { Command } from 'commander';
import { UsageError } from '../../domain/errors.js';
import type { Column } from '../../io/render.js';
import { examples, type Runtime } from '../program.js';

export function registerSql(program: Command, { run }: Runtime): void {
  program
    .command('sql')
    .description('run one read-only SQL query and print the rows in any --format')
    .argument('<query>', 'one SELECT (or WITH … SELECT) statement')
    .addHelpText(
      'after',
      `\nThe query runs on a separate read-only connection; statements that write, ATTACH, PRAGMA and more
than one statement are refused.\n` +
        examples('crm sql "SELECT city, count(*) AS customers FROM customers GROUP BY city ORDER BY 2 DESC"', 'crm sql "SELECT * FROM sales WHERE voided_at IS NULL" --format csv --output sales.csv'),
    )
    .action(
      run(async (ctx, text: string) => {
        ctx.format();
        await ctx.db();
        const { openReadOnlyQuery } = await import('../../services/sql.js');
        const query = openReadOnlyQuery(ctx.dbPath(), text, await ctx.dbKey());
        try {
          const used = new Set<string>();
          const keys = query.columns.map((c) => {
            let key = c.name;
            for (let n = 2; used.has(key); n++) key = `${c.name}_${n}`;
            used.add(key);
            return key;
          });
          const columns: Column[] = query.columns.map((c, i) => ({ key: keys[i]!, header: c.name, kind: c.integer ? 'int' : 'text' }));
          function* rows() {
            for (const values of query.rows) yield Object.fromEntries(keys.map((k, i) => [k, values[i]]));
          }
          await ctx.printStream(columns, rows());
        } catch (error) {
          if (error instanceof Error && error.name === 'SqliteError') throw new UsageError(`the query failed: ${error.message}`);
          throw error;
        } finally {
          query.close();
        }
      }),
    );
}
