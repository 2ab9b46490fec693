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

  program.command('db').description('inspect, back up, restore and maintain the database');
}
