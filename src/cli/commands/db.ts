// `crm init` and `crm db …`: create, inspect and maintain the database file.
import type { Command } from 'commander';
import { examples, type Runtime } from '../program.js';

export function registerDb(program: Command, { run }: Runtime): void {
  program
    .command('init')
    .description('create the database (or bring its schema up to date) and print its path')
    .addHelpText('after', examples('crm init', 'crm --db ./shop.db init'))
    .action(
      run(async (ctx) => {
        await ctx.db();
        await ctx.printText(ctx.dbPath());
      }),
    );

  const db = program.command('db').description('inspect, back up, restore and maintain the database');

  // Issue 8's data section of `db check`; the foundation's integrity and foreign-key checks join it.
  db.command('check')
    .description('check the data: missing or invalid contact details, duplicates, quiet customers, orphans')
    .addHelpText('after', examples('crm db check', 'crm db check --format json'))
    .action(
      run(async (ctx) => {
        const { dataQualityReport } = await import('../../services/quality.js');
        const findings = await dataQualityReport(await ctx.db(), ctx.now());
        await ctx.printDocument([{ key: 'data', title: 'Data quality', columns: [{ key: 'check' }, { key: 'count', kind: 'int' }, { key: 'hint' }], rows: findings.map((f) => ({ ...f })) }]);
      }),
    );
}
