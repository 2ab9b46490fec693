// `crm config get [KEY]` and `crm config set KEY VALUE`: settings stored in the database.
import type { Command } from 'commander';
import { examples, type Runtime } from '../runtime.js';

export function registerConfig(program: Command, { run }: Runtime): void {
  const config = program.command('config').description('read and change settings stored in the database')
    .addHelpText('after', examples('crm config get', 'crm config set currency USD', 'crm config set sla.high 4h'));

  config
    .command('get')
    .description('print one setting, or all of them with their defaults')
    .argument('[key]', 'setting name, e.g. currency or sla.high')
    .addHelpText('after', examples('crm config get', 'crm config get currency'))
    .action(
      run(async (ctx, key: string | undefined) => {
        const { getSetting, listSettings } = await import('../../services/config.js');
        const db = await ctx.db();
        if (key !== undefined) {
          await ctx.printText(await getSetting(db, key));
          return;
        }
        const settings = await listSettings(db);
        await ctx.print(
          [{ key: 'key' }, { key: 'value' }, { key: 'default', kind: 'bool', header: 'Default' }, { key: 'description' }],
          settings.map((s) => ({ key: s.key, value: s.value, default: s.isDefault, description: s.description })),
        );
      }),
    );

  config
    .command('set')
    .description('change a setting')
    .argument('<key>', 'setting name')
    .argument('<value>', 'new value')
    .addHelpText('after', examples('crm config set currency USD', 'crm config set sla.high 6h'))
    .action(
      run(async (ctx, key: string, value: string) => {
        const { setSetting } = await import('../../services/config.js');
        const saved = await setSetting(await ctx.db(), key, value, ctx.meta());
        ctx.note(`${saved.key} = ${saved.value}`);
      }),
    );
}
