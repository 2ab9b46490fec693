// `crm customer …`: profiles, tags and custom fields, listing and the profile with its timeline.
import type { Command } from 'commander';
import { startOfLocalDay } from '../../domain/dates.js';
import { parseAge, parseChoice, parseEmail, parseFieldAssignment, parseGender, parseInteger, parsePhone } from '../../domain/validation.js';
import { UsageError } from '../../domain/errors.js';
import type { Column, Section } from '../../io/render.js';
// customer-list has no database imports of its own (types only), so this stays light for --help.
import { CUSTOMER_SORT_FIELDS, type CustomerSortField } from '../../services/customer-list.js';
import type { CustomerChanges, CustomerProfile } from '../../services/customers.js';
import { mapRows } from '../rows.js';
import { examples, type Runtime } from '../runtime.js';

interface AddFlags {
  name?: string;
  email?: string;
  phone?: string;
  age?: string;
  gender?: string;
  company?: string;
  city?: string;
  source?: string;
  externalId?: string;
  owner?: string;
  tag?: string[];
  field?: string[];
}

interface EditFlags extends AddFlags {
  untag?: string[];
}

interface ListFlags {
  tag?: string[];
  city?: string;
  search?: string;
  sort?: string;
  limit?: string;
  segment?: string;
  notContacted?: string;
  owner?: string;
}

// No default value for repeatable flags, so --help shows no "(default: [])"; read them with `?? []`.
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

const SORT_FIELDS: readonly CustomerSortField[] = CUSTOMER_SORT_FIELDS;

/** The flags `add` and `edit` share. */
function profileOptions(command: Command, nameHelp: string): Command {
  return command
    .option('--name <name>', nameHelp)
    .option('--email <email>', 'email address, unique across customers')
    .option('--phone <phone>', 'phone number')
    .option('--age <age>', 'age in years, 0 to 150')
    .option('--gender <gender>', 'female, male or other')
    .option('--company <company>', 'company')
    .option('--city <city>', 'city')
    .option('--source <source>', 'where the customer came from, e.g. referral')
    .option('--external-id <id>', "the customer's number in your shop or ERP, unique across customers")
    .option('--owner <name>', 'the team member who looks after the customer (default on PostgreSQL: you; owners and managers reassign)')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .option('--field <key=value>', 'custom field (repeatable)', collect);
}

/** Table columns of `customer list`: what fits a terminal. */
const LIST_TABLE_COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', kind: 'int' },
  { key: 'name' },
  { key: 'email' },
  { key: 'phone' },
  { key: 'city' },
  { key: 'company' },
  { key: 'tags' },
];

/** Every stored field, for csv/tsv/json/ndjson/md. */
const LIST_DATA_COLUMNS: readonly Column[] = [
  { key: 'id', kind: 'int' },
  { key: 'name' },
  { key: 'email' },
  { key: 'phone' },
  { key: 'age', kind: 'int' },
  { key: 'gender' },
  { key: 'company' },
  { key: 'city' },
  { key: 'source' },
  { key: 'external_id' },
  { key: 'tags' },
  { key: 'created_at', kind: 'timestamp' },
  { key: 'updated_at', kind: 'timestamp' },
];

function parseSort(text: string): { field: CustomerSortField; descending: boolean } {
  const descending = text.startsWith('-');
  const name = descending ? text.slice(1) : text;
  if (!(SORT_FIELDS as readonly string[]).includes(name.trim().toLowerCase())) {
    throw new UsageError(`--sort "${text}" is not a field to sort by`, { hint: `use one of ${SORT_FIELDS.join(', ')}; a leading - sorts descending` });
  }
  return { field: parseChoice(name, SORT_FIELDS, '--sort'), descending };
}

/** Optional profile flags: an empty value clears the field. */
function optional<T>(value: string | undefined, parse: (text: string) => T): T | null | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') return null;
  return parse(value);
}

function profileSections(p: CustomerProfile, compact: boolean): Section[] {
  const c = p.customer;
  const sections: Section[] = [
    {
      key: 'customer',
      title: `Customer #${c.id}`,
      columns: [
        { key: 'id', header: 'ID', kind: 'int' },
        { key: 'name' },
        { key: 'email' },
        { key: 'phone' },
        { key: 'age', kind: 'int' },
        { key: 'gender' },
        { key: 'company' },
        { key: 'city' },
        { key: 'source' },
        { key: 'external_id', header: 'Ext ID' },
        { key: 'tags' },
        { key: 'created_at', header: 'Created', kind: 'timestamp' },
        { key: 'updated_at', header: 'Updated', kind: 'timestamp' },
      ],
      record: { ...c, tags: p.tags.join(';') },
    },
    {
      key: 'fields',
      title: 'Custom fields',
      columns: [{ key: 'key' }, { key: 'value' }],
      rows: p.fields,
    },
    {
      key: 'totals',
      title: 'Totals',
      columns: [
        { key: 'orders', kind: 'int' },
        { key: 'total_spent', kind: 'money' },
        { key: 'last_purchase', kind: 'date' },
        { key: 'open_tickets', kind: 'int' },
        { key: 'open_tasks', kind: 'int' },
        { key: 'activities', kind: 'int' },
        { key: 'last_contact', kind: 'timestamp' },
      ],
      record: {
        orders: p.totals.orders,
        total_spent: p.totals.totalSpentCents,
        last_purchase: p.totals.lastPurchase,
        open_tickets: p.totals.openTickets,
        open_tasks: p.totals.openTasks,
        activities: p.totals.activities,
        last_contact: p.totals.lastContact,
      },
    },
    {
      key: 'timeline',
      title: 'Timeline (newest first)',
      columns: [
        { key: 'at', header: 'When', kind: 'timestamp' },
        { key: 'kind' },
        { key: 'id', header: 'ID', kind: 'int' },
        { key: 'detail' },
        { key: 'amount', kind: 'money' },
        { key: 'summary' },
      ],
      rows: p.timeline.map((t) => ({ at: t.at, kind: t.kind, id: t.id, detail: t.detail, amount: t.amountCents, summary: t.summary, voided: t.voided })),
    },
  ];
  // A person reading a table does not need an empty "Custom fields" box; data formats keep every key.
  return compact ? sections.filter((s) => s.key !== 'fields' || (s.rows?.length ?? 0) > 0) : sections;
}

function nonEmpty(label: string) {
  return (value: string) => {
    const trimmed = value.trim();
    if (!trimmed) throw new UsageError(`${label} must not be empty`);
    return trimmed;
  };
}

export function registerCustomer(program: Command, { run }: Runtime): void {
  const customer = program.command('customer').description('add, find, change and remove customers')
    .addHelpText('after', examples('crm customer add --name "Li Wei" --email li.wei@example.com --city Shanghai --tag vip', 'crm customer list --city Shanghai --sort -created', 'crm customer show li.wei@example.com'));

  profileOptions(customer.command('add').description('add a customer; prints its id'), 'full name (required unless --email, --phone or --external-id is given)')
    .addHelpText('after', examples('crm customer add --name "Li Wei" --email li.wei@example.com --city Shanghai --tag vip', 'crm customer add --name "Anna Schmidt" --age 34 --field plan=gold'))
    .action(
      run(async (ctx, flags: AddFlags) => {
        const { addCustomer, describeCustomer } = await import('../../services/customers.js');
        // Check every given flag before asking for anything.
        const fields = fieldAssignments(flags.field ?? []).set;
        const profile = {
          email: optional(flags.email, (v) => parseEmail(v, '--email')),
          phone: optional(flags.phone, (v) => parsePhone(v, '--phone')),
          age: optional(flags.age, (v) => parseAge(v, '--age')),
          gender: optional(flags.gender, (v) => parseGender(v, '--gender')),
          company: optional(flags.company, (v) => v),
          city: optional(flags.city, (v) => v),
          source: optional(flags.source, (v) => v),
          externalId: optional(flags.externalId, (v) => v.trim()),
          owner: optional(flags.owner, (v) => v.trim()),
        };
        // A shop's customer may be known only by email, phone or its number; otherwise a name is needed.
        const known = Boolean(profile.email || profile.phone || profile.externalId);
        const [name] =
          known && flags.name === undefined ? [null] : await ctx.require({ flag: '--name', value: flags.name, message: 'Name', parse: nonEmpty('--name') });
        const row = await addCustomer(
          await ctx.db(),
          {
            name,
            email: profile.email ?? null,
            phone: profile.phone ?? null,
            age: profile.age ?? null,
            gender: profile.gender ?? null,
            company: profile.company ?? null,
            city: profile.city ?? null,
            source: profile.source ?? null,
            externalId: profile.externalId ?? null,
            ...(profile.owner !== undefined ? { owner: profile.owner } : {}),
            tags: flags.tag ?? [],
            fields,
          },
          ctx.meta(),
        );
        ctx.note(`added customer ${describeCustomer(row)}`);
        await ctx.printText(String(row.id));
      }),
    );

  customer
    .command('list')
    .description('list customers, filtered and sorted (tables show the main columns; csv/json carry every field)')
    .option('--tag <tag>', 'only customers with this tag (repeatable: all must match)', collect)
    .option('--city <city>', 'only customers in this city (any case)')
    .option('--search <text>', 'text in the name, email, phone, company or city (any case)')
    .option('--sort <field>', `sort by ${SORT_FIELDS.join(', ')}; a leading - sorts descending (default: id)`)
    .option('--limit <n>', 'show at most N customers')
    .option('--segment <name>', 'only customers in this saved segment (or a stored RFM group, e.g. rfm:at-risk)')
    .option('--owner <name>', 'only the customers this team member owns; me: yours')
    .option('--not-contacted <age>', 'only customers not contacted for more than this long (e.g. 30d, 6w, 3m); never contacted counts from when they were added; adds last_contact and days_since')
    .addHelpText(
      'after',
      examples(
        'crm customer list --city Shanghai --tag vip',
        'crm customer list --segment vip-shanghai',
        'crm customer list --not-contacted 30d --format csv',
        'crm customer list --search 138 --sort name',
        'crm customer list --sort -created --limit 10',
        'crm customer list --format csv --output customers.csv',
      ),
    )
    .action(
      run(async (ctx, flags: ListFlags) => {
        const sort = flags.sort !== undefined ? parseSort(flags.sort) : undefined;
        const limit = flags.limit !== undefined ? parseInteger(flags.limit, '--limit', 1) : undefined;
        const format = ctx.format();
        const { listCustomers } = await import('../../services/customer-list.js');
        const segment = flags.segment === undefined ? undefined : { name: flags.segment, now: ctx.now() };
        const tasks = flags.notContacted !== undefined ? await import('../../domain/tasks.js') : undefined;
        const quietSince = tasks && tasks.notContactedCutoff(tasks.parseInterval(flags.notContacted!, '--not-contacted'), ctx.now());
        let owner: { name: string; orUnowned: boolean } | undefined;
        if (flags.owner !== undefined) {
          const member = flags.owner.trim() === 'me' ? await ctx.teamMember() : undefined;
          // On a SQLite file, "me" is its one person, who owns every customer without an owner.
          owner = flags.owner.trim() !== 'me' ? { name: flags.owner.trim(), orUnowned: false } : member ? { name: member.user, orUnowned: false } : { name: ctx.actor.user, orUnowned: true };
        }
        const rows = await listCustomers(await ctx.reader(), { tags: flags.tag ?? [], city: flags.city, search: flags.search, owner, sort, limit, segment, quietSince });
        const columns = format === 'table' ? LIST_TABLE_COLUMNS : LIST_DATA_COLUMNS;
        if (tasks) {
          // Whole local days since the last contact, or since the customer was added.
          const { localDayNumber } = tasks;
          const today = localDayNumber(ctx.now());
          const withDays = mapRows(rows, (r) => Object.assign(r, { days_since: today - localDayNumber(new Date(r.last_contact ?? r.created_at)) }));
          await ctx.printStream([...columns, { key: 'last_contact', kind: 'timestamp' }, { key: 'days_since', kind: 'int' }], withDays);
          return;
        }
        await ctx.printStream(columns, rows);
      }),
    );

  customer
    .command('show')
    .description('a customer\'s profile, tags, custom fields, totals and timeline (activities, sales, tickets, tasks)')
    .argument('<customer>', 'id, email, or a name that matches one customer')
    .addHelpText('after', examples('crm customer show 12', 'crm customer show li.wei@example.com', 'crm customer show "Li Wei" --format json'))
    .action(
      run(async (ctx, reference: string) => {
        const { customerProfile, resolveCustomer } = await import('../../services/customers.js');
        const db = await ctx.db();
        const { id } = await resolveCustomer(db, reference);
        const profile = await customerProfile(db, id, (day) => startOfLocalDay(day).toISOString());
        const format = ctx.format();
        await ctx.printDocument(profileSections(profile, format === 'table' || format === 'md'), {
          highlight: (row) => (row.voided ? 'dim' : undefined),
        });
      }),
    );

  profileOptions(customer.command('edit').description('change a customer\'s profile, tags or custom fields'), 'new full name')
    .argument('<customer>', 'id, email, or a name that matches one customer')
    .option('--untag <tag>', 'remove a tag (repeatable)', collect)
    .addHelpText(
      'after',
      `\nAn empty value clears an optional field (--phone ""); --field key= removes a custom field.\n` +
        examples('crm customer edit 12 --city Hangzhou --tag vip --untag prospect', 'crm customer edit li.wei@example.com --phone "" --field plan=', 'crm customer edit "Li Wei" --field plan=gold'),
    )
    .action(
      run(async (ctx, reference: string, flags: EditFlags) => {
        const fieldChanges = fieldAssignments(flags.field ?? []);
        const changes: CustomerChanges = {
          name: flags.name !== undefined ? nonEmpty('--name')(flags.name) : undefined,
          email: optional(flags.email, (v) => parseEmail(v, '--email')),
          phone: optional(flags.phone, (v) => parsePhone(v, '--phone')),
          age: optional(flags.age, (v) => parseAge(v, '--age')),
          gender: optional(flags.gender, (v) => parseGender(v, '--gender')),
          company: optional(flags.company, (v) => v),
          city: optional(flags.city, (v) => v),
          source: optional(flags.source, (v) => v),
          externalId: optional(flags.externalId, (v) => v.trim()),
          owner: optional(flags.owner, (v) => v.trim()),
          addTags: flags.tag ?? [],
          removeTags: flags.untag ?? [],
          setFields: fieldChanges.set,
          removeFields: fieldChanges.remove,
        };
        const both = (flags.tag ?? []).filter((t) => (flags.untag ?? []).some((u) => u.trim().toLowerCase() === t.trim().toLowerCase()));
        if (both.length > 0) throw new UsageError(`--tag and --untag both name "${both[0]}"`);
        const given = Object.entries(changes).some(([, v]) => (Array.isArray(v) ? v.length > 0 : v && typeof v === 'object' ? Object.keys(v).length > 0 : v !== undefined));
        if (!given) {
          throw new UsageError('nothing to change', { hint: 'give at least one of --name --email --phone --age --gender --company --city --source --external-id --owner --tag --untag --field' });
        }
        const { describeCustomer, editCustomer, resolveCustomer } = await import('../../services/customers.js');
        const db = await ctx.db();
        const { id } = await resolveCustomer(db, reference);
        const result = await editCustomer(db, id, changes, ctx.meta());
        if (result.changed.length === 0) ctx.note(`customer ${describeCustomer(result.customer)} already had those values; nothing changed`);
        else ctx.note(`updated customer ${describeCustomer(result.customer)}: ${result.changed.join(', ')}`);
      }),
    );

  customer
    .command('rm')
    .description('remove a customer with their activities, tickets, deals and tasks (sales stay, without a customer)')
    .argument('<customer>', 'id, email, or a name that matches one customer')
    .addHelpText('after', examples('crm customer rm 12', 'crm customer rm li.wei@example.com --yes'))
    .action(
      run(async (ctx, reference: string) => {
        const { describeCustomer, removalImpact, removeCustomer, resolveCustomer } = await import('../../services/customers.js');
        const db = await ctx.db();
        const row = await resolveCustomer(db, reference);
        const impact = await removalImpact(db, row.id);
        const counted = (n: number, one: string, many: string) => (n > 0 ? [`${n} ${n === 1 ? one : many}`] : []);
        const along = [
          ...counted(impact.activities, 'activity', 'activities'),
          ...counted(impact.tickets, 'ticket', 'tickets'),
          ...counted(impact.deals, 'deal', 'deals'),
          ...counted(impact.tasks, 'task', 'tasks'),
        ];
        const question =
          `Remove customer ${describeCustomer(row)}` +
          (along.length ? ` with ${along.join(', ')}` : '') +
          (impact.sales ? ` (their ${impact.sales} ${impact.sales === 1 ? 'sale stays' : 'sales stay'}, without a customer)` : '') +
          '?';
        await ctx.confirm(question);
        await removeCustomer(db, row.id, ctx.meta());
        ctx.note(`removed customer ${describeCustomer(row)}`);
      }),
    );
}

/** `--field k=v` sets a custom field; `--field k=` (empty value) removes it. */
function fieldAssignments(assignments: readonly string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const assignment of assignments) {
    const { key, value } = parseFieldAssignment(assignment);
    if (value === '') remove.push(key);
    else set[key] = value;
  }
  return { set, remove };
}
