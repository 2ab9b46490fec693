// `crm activity …`: record calls, emails, meetings, chats and notes, list them, and print the
// conversation a record belongs to as a tree.
import type { Command } from 'commander';
import type { ActivityType, Direction } from '../../db/schema.js';
import { formatLocalTimestamp } from '../../domain/dates.js';
import { UsageError } from '../../domain/errors.js';
import { parseChoice, parseInteger } from '../../domain/validation.js';
import type { Column } from '../../io/render.js';
import { escapeControl } from '../../io/terminal.js';
import { parseInstantFlag } from '../flags.js';
import { examples, type Runtime } from '../runtime.js';

// Kept here (not imported from the service) so `--help` never loads the database layer.
const TYPES: readonly ActivityType[] = ['call', 'email', 'meeting', 'chat', 'note'];
const DIRECTIONS: readonly Direction[] = ['in', 'out'];

interface AddFlags {
  type?: string;
  summary?: string;
  at?: string;
  direction?: string;
  replyTo?: string;
  follows?: string;
}

interface ListFlags {
  type?: string;
  since?: string;
}

const LIST_COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', kind: 'int' },
  { key: 'at', header: 'When', kind: 'timestamp' },
  { key: 'customer_id', header: 'Cust', kind: 'int' },
  { key: 'customer', header: 'Customer' },
  { key: 'type' },
  { key: 'direction', header: 'Dir' },
  { key: 'summary' },
  { key: 'reply_to', kind: 'int' },
  { key: 'follows', kind: 'int' },
];

const THREAD_COLUMNS: readonly Column[] = [
  { key: 'id', kind: 'int' },
  { key: 'parent_id', kind: 'int' },
  { key: 'depth', kind: 'int' },
  { key: 'link' },
  { key: 'at', kind: 'timestamp' },
  { key: 'customer_id', kind: 'int' },
  { key: 'type' },
  { key: 'direction' },
  { key: 'summary' },
];

function activityId(text: string, flag: string): number {
  return parseInteger(text, flag, 1);
}

export function registerActivity(program: Command, { run }: Runtime): void {
  const activity = program.command('activity').description('record and read calls, emails, meetings, chats and notes')
    .addHelpText('after', examples('crm activity add li.wei@example.com --type call --direction in --summary "Asked for a quote"', 'crm activity list 12 --since 30d-ago', 'crm activity thread 7'));

  activity
    .command('add')
    .description('record a call, email, meeting, chat or note with a customer; prints its id')
    .argument('<customer>', 'id, email, or a name that matches one customer')
    .option('--type <type>', `${TYPES.join(', ')} (required)`)
    .option('--summary <text>', 'what was said or done (required)')
    .option('--at <time>', 'when: YYYY-MM-DD [HH:MM], an ISO timestamp, today, 2d-ago… (default: now)')
    .option('--direction <dir>', 'in (from the customer) or out (to the customer)')
    .option('--reply-to <id>', 'the earlier record this one answers')
    .option('--follows <id>', 'the earlier record this one continues')
    .addHelpText(
      'after',
      examples(
        'crm activity add li.wei@example.com --type email --direction in --summary "Asks for the autumn price list"',
        'crm activity add 12 --type call --direction out --reply-to 41 --summary "Called back with prices"',
        'crm activity add "Li Wei" --type meeting --at "2025-03-04 15:00" --follows 42 --summary "Tasting at the shop"',
      ),
    )
    .action(
      run(async (ctx, reference: string, flags: AddFlags) => {
        const at = flags.at !== undefined ? (await parseInstantFlag(ctx, flags.at, '--at')).toISOString() : undefined;
        const direction = flags.direction !== undefined ? parseChoice(flags.direction, DIRECTIONS, '--direction') : undefined;
        const replyTo = flags.replyTo !== undefined ? activityId(flags.replyTo, '--reply-to') : undefined;
        const follows = flags.follows !== undefined ? activityId(flags.follows, '--follows') : undefined;
        const [type, summary] = await ctx.require(
          { flag: '--type', value: flags.type, message: `Type (${TYPES.join(', ')})`, parse: (v) => parseChoice(v, TYPES, '--type') },
          {
            flag: '--summary',
            value: flags.summary,
            message: 'Summary',
            parse: (v) => {
              if (v.trim() === '') throw new UsageError('--summary must not be empty');
              return v;
            },
          },
        );
        if (type === 'note' && direction) throw new UsageError('a note has no direction', { hint: 'leave out --direction, or use another --type' });
        const { addActivity } = await import('../../services/activities.js');
        const { describeCustomer, resolveCustomer } = await import('../../services/customers.js');
        const db = await ctx.db();
        const customer = await resolveCustomer(db, reference);
        const row = await addActivity(db, { customerId: customer.id, type, summary, at, direction, replyTo, follows }, ctx.meta());
        ctx.note(`recorded ${row.type} #${row.id} with ${describeCustomer(customer)}`);
        await ctx.printText(String(row.id));
      }),
    );

  activity
    .command('list')
    .description('activities, oldest first, for one customer or everyone')
    .argument('[customer]', 'id, email, or a name that matches one customer')
    .option('--type <type>', `only this type: ${TYPES.join(', ')}`)
    .option('--since <date>', 'only records at or after this date/time (e.g. 2025-03-01, 7d-ago)')
    .addHelpText('after', examples('crm activity list li.wei@example.com', 'crm activity list --type call --since 7d-ago', 'crm activity list --format csv > activities.csv'))
    .action(
      run(async (ctx, reference: string | undefined, flags: ListFlags) => {
        const type = flags.type !== undefined ? parseChoice(flags.type, TYPES, '--type') : undefined;
        const since = flags.since !== undefined ? (await parseInstantFlag(ctx, flags.since, '--since')).toISOString() : undefined;
        const { listActivities } = await import('../../services/activities.js');
        const { resolveCustomer } = await import('../../services/customers.js');
        const db = await ctx.db();
        const customerId = reference !== undefined ? (await resolveCustomer(db, reference)).id : undefined;
        const rows = await listActivities(db, { customerId, type, since });
        // Tables leave out the customer id (the name is there); data formats keep both.
        const columns = ctx.format() === 'table' ? LIST_COLUMNS.filter((c) => c.key !== 'customer_id') : LIST_COLUMNS;
        // `customer` like sale, deal, ticket and task lists.
        await ctx.print(columns, rows.map((r) => ({ ...r, customer: r.customer_name })));
      }),
    );

  activity
    .command('thread')
    .description('the whole conversation a record belongs to (its reply/follows links both ways), as a tree')
    .argument('<id>', 'any activity id in the conversation')
    .addHelpText('after', `\nOther formats print one row per record with its depth and parent_id.\n${examples('crm activity thread 42', 'crm activity thread 42 --format json')}`)
    .action(
      run(async (ctx, idText: string) => {
        const id = activityId(idText, 'activity id');
        const format = ctx.format();
        const { activityThread } = await import('../../services/activities.js');
        const thread = await activityThread(await ctx.db(), id);
        if (format === 'table') {
          const { renderTree } = await import('../../io/tree.js');
          const c = thread.customer;
          const title = `Conversation with #${c.id} ${c.name}${c.email ? ` <${c.email}>` : ''}: ${thread.nodes.length} record${thread.nodes.length === 1 ? '' : 's'}`;
          const tree = renderTree(
            thread.nodes.map((n) => ({
              depth: n.depth,
              cells: [
                `#${n.activity.id}`,
                formatLocalTimestamp(n.activity.at),
                [n.activity.type, n.activity.direction].filter(Boolean).join(' '),
                n.activity.summary + n.alsoLinks.map((l) => ` (also ${l.kind === 'reply' ? 'replies to' : 'follows'} #${l.toId})`).join(''),
              ],
            })),
          );
          await ctx.printText(`${escapeControl(title)}\n${tree}`);
          return;
        }
        await ctx.print(
          THREAD_COLUMNS,
          thread.nodes.map((n) => ({
            id: n.activity.id,
            parent_id: n.parentId,
            depth: n.depth,
            link: n.link,
            at: n.activity.at,
            customer_id: n.activity.customer_id,
            type: n.activity.type,
            direction: n.activity.direction,
            summary: n.activity.summary,
          })),
        );
      }),
    );
}
