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

  // --- segments (issue 6): a minimal `customer list` so `--segment NAME` works end to end. The
  // foundation branch owns `customer list`; on merge keep its command and add the two lines marked
  // `segment:` below (the option, and the where on its query over `customers`).
  customer
    .command('list')
    .description('list customers')
    .option('--segment <name>', 'only customers in this saved segment (or a stored RFM group, e.g. rfm:at-risk)') // segment:
    .option('--limit <n>', 'at most N customers')
    .addHelpText('after', examples('crm customer list', 'crm customer list --segment shanghai-vip --format csv'))
    .action(
      run(async (ctx, flags: { segment?: string; limit?: string }) => {
        const { parseInteger } = await import('../../domain/validation.js');
        const db = await ctx.db();
        let query = db.selectFrom('customers').select(['id', 'name', 'email', 'phone', 'city']).orderBy('id');
        if (flags.limit !== undefined) query = query.limit(parseInteger(flags.limit, '--limit', 1));
        if (flags.segment !== undefined) query = query.where(await (await import('../../services/segments.js')).segmentCondition(db, flags.segment, ctx.now())); // segment:
        await ctx.print([{ key: 'id', kind: 'int', header: 'ID' }, { key: 'name' }, { key: 'email' }, { key: 'phone' }, { key: 'city' }], await query.execute());
      }),
    );
}
