// `crm customer …`: profiles, tags and custom fields.
import type { Command } from 'commander';
import { parseAge, parseEmail, parseFieldAssignment, parseGender, parsePhone } from '../../domain/validation.js';
import { UsageError } from '../../domain/errors.js';
import { examples, type Runtime } from '../program.js';

interface AddFlags {
  name?: string;
  email?: string;
  phone?: string;
  age?: string;
  gender?: string;
  company?: string;
  city?: string;
  source?: string;
  tag: string[];
  field: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

function nonEmpty(label: string) {
  return (value: string) => {
    const trimmed = value.trim();
    if (!trimmed) throw new UsageError(`${label} must not be empty`);
    return trimmed;
  };
}

export function registerCustomer(program: Command, { run }: Runtime): void {
  const customer = program.command('customer').description('add, find, change and remove customers');

  customer
    .command('add')
    .description('add a customer')
    .option('--name <name>', 'full name (required)')
    .option('--email <email>', 'email address, unique across customers')
    .option('--phone <phone>', 'phone number')
    .option('--age <age>', 'age in years, 0 to 150')
    .option('--gender <gender>', 'female, male or other')
    .option('--company <company>', 'company')
    .option('--city <city>', 'city')
    .option('--source <source>', 'where the customer came from, e.g. referral')
    .option('--tag <tag>', 'tag (repeatable)', collect, [])
    .option('--field <key=value>', 'custom field (repeatable)', collect, [])
    .addHelpText('after', examples('crm customer add --name "Li Wei" --email li.wei@example.com --city Shanghai --tag vip', 'crm customer add --name "Anna Schmidt" --age 34 --field plan=gold'))
    .action(
      run(async (ctx, flags: AddFlags) => {
        const { addCustomer, describeCustomer } = await import('../../services/customers.js');
        const [name] = await ctx.require({ flag: '--name', value: flags.name, message: 'Name', parse: nonEmpty('--name') });
        const fields: Record<string, string> = {};
        for (const assignment of flags.field) {
          const { key, value } = parseFieldAssignment(assignment);
          fields[key] = value;
        }
        const row = await addCustomer(
          await ctx.db(),
          {
            name,
            email: flags.email !== undefined ? parseEmail(flags.email, '--email') : null,
            phone: flags.phone !== undefined ? parsePhone(flags.phone, '--phone') : null,
            age: flags.age !== undefined ? parseAge(flags.age, '--age') : null,
            gender: flags.gender !== undefined ? parseGender(flags.gender, '--gender') : null,
            company: flags.company ?? null,
            city: flags.city ?? null,
            source: flags.source ?? null,
            tags: flags.tag,
            fields,
          },
          ctx.meta(),
        );
        ctx.note(`added customer ${describeCustomer(row)}`);
        await ctx.printText(String(row.id));
      }),
    );

  // --- issue 9 (tasks): `customer list --not-contacted`. A basic list so the flag can be used and
  // tested on this branch; the foundation's full `customer list` takes over, keeping the flag:
  // `.where(notContactedSince(notContactedCutoff(parseInterval(flag, '--not-contacted'), ctx.now()), 'c'))`
  // from services/tasks.ts on its customers query, plus last_contact (`lastActivityOf('c')`) and
  // days_since columns.
  customer
    .command('list')
    .description('list customers')
    .option('--not-contacted <age>', 'only customers not contacted for more than this long (e.g. 30d, 6w, 3m); never contacted counts from when they were added')
    .addHelpText('after', examples('crm customer list', 'crm customer list --not-contacted 30d --format csv'))
    .action(
      run(async (ctx, flags: { notContacted?: string }) => {
        const { parseInterval } = await import('../../domain/tasks.js');
        const { customersNotContacted } = await import('../../services/tasks.js');
        const interval = flags.notContacted !== undefined ? parseInterval(flags.notContacted, '--not-contacted') : null;
        const rows = await customersNotContacted(await ctx.db(), interval, ctx.now());
        await ctx.print(
          [
            { key: 'id', header: 'ID', kind: 'int' },
            { key: 'name' },
            { key: 'email' },
            { key: 'phone' },
            { key: 'city' },
            { key: 'last_contact', kind: 'timestamp' },
            { key: 'days_since', kind: 'int' },
          ],
          rows.map((r) => ({ id: r.id, name: r.name, email: r.email, phone: r.phone, city: r.city, last_contact: r.lastContact, days_since: r.daysSince })),
        );
      }),
    );
  // --- end issue 9
}
