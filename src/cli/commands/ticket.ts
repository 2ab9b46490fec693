// `crm ticket …`: open, list, show, update, resolve and rate support tickets.
import type { Command } from 'commander';
import { formatLocalTimestamp } from '../../domain/dates.js';
import { UsageError } from '../../domain/errors.js';
import { KINDS, PRIORITIES, STATUSES, formatDuration, parseScore, parseTicketId } from '../../domain/tickets.js';
import { parseChoice } from '../../domain/validation.js';
import type { Column, Row } from '../../io/render.js';
import { nonEmpty, parseInstantFlag } from '../flags.js';
import { examples, type Runtime } from '../runtime.js';

const LIST_COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', kind: 'int' },
  { key: 'customer_id', header: 'Cust', kind: 'int' },
  { key: 'customer' },
  { key: 'subject' },
  { key: 'kind' },
  { key: 'priority' },
  { key: 'status' },
  { key: 'assignee' },
  { key: 'opened_at', header: 'Opened', kind: 'timestamp' },
  { key: 'due_at', header: 'Due', kind: 'timestamp' },
  { key: 'overdue', kind: 'bool' },
];

const TICKET_COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', kind: 'int' },
  { key: 'customer_id', header: 'Customer ID', kind: 'int' },
  { key: 'customer' },
  { key: 'subject' },
  { key: 'description' },
  { key: 'kind' },
  { key: 'priority' },
  { key: 'status' },
  { key: 'assignee' },
  { key: 'opened_at', header: 'Opened', kind: 'timestamp' },
  { key: 'due_at', header: 'Due', kind: 'timestamp' },
  { key: 'overdue', kind: 'bool' },
  { key: 'first_response_at', header: 'First response', kind: 'timestamp' },
  { key: 'resolved_at', header: 'Resolved', kind: 'timestamp' },
  { key: 'closed_at', header: 'Closed', kind: 'timestamp' },
  { key: 'solution' },
  { key: 'score', header: 'CSAT score', kind: 'int' },
];

const EVENT_COLUMNS: readonly Column[] = [
  { key: 'at', header: 'When', kind: 'timestamp' },
  { key: 'event' },
  { key: 'from', header: 'From' },
  { key: 'to', header: 'To' },
  { key: 'comment' },
  { key: 'actor', header: 'By' },
];

const RATING_COLUMNS: readonly Column[] = [
  { key: 'rated_at', header: 'Rated', kind: 'timestamp' },
  { key: 'score', kind: 'int' },
  { key: 'comment' },
  { key: 'current', kind: 'bool' },
  { key: 'superseded_at', header: 'Superseded', kind: 'timestamp' },
];

const overdueRed = (row: Row) => (row.overdue ? ('error' as const) : undefined);

interface OpenFlags {
  customer?: string;
  subject?: string;
  description?: string;
  priority: string;
  kind: string;
  opened?: string;
}

interface ListFlags {
  status?: string;
  priority?: string;
  overdue?: boolean;
  customer?: string;
}

interface UpdateFlags {
  status?: string;
  priority?: string;
  assignee?: string;
  comment?: string;
}

export function registerTicket(program: Command, { run }: Runtime): void {
  const ticket = program.command('ticket').description('support tickets: open, follow up, resolve, and rate (CSAT)')
    .addHelpText('after', examples('crm ticket open --customer 12 --subject "Parcel damaged" --priority high', 'crm ticket list --overdue', 'crm ticket resolve 7 --solution "Sent a replacement"'));

  ticket
    .command('open')
    .description('open a support ticket for a customer; its due time comes from config sla.<priority>')
    .option('--customer <customer>', 'customer id, email or unique name (required)')
    .option('--subject <text>', 'one-line subject (required)')
    .option('--description <text>', 'the request in full')
    .option('--priority <priority>', `${PRIORITIES.join(', ')}`, 'normal')
    .option('--kind <kind>', `${KINDS.join(', ')}`, 'question')
    .option('--opened <time>', 'when the request came in, if earlier than now (e.g. "yesterday 16:00")')
    .addHelpText(
      'after',
      examples(
        'crm ticket open --customer li.wei@example.com --subject "Invoice missing" --priority high',
        'crm ticket open --customer 12 --subject "Love the new app" --kind feedback --priority low',
        'crm ticket open --customer "Anna Schmidt" --subject "Order late" --kind complaint --opened "2025-06-01 09:30"',
      ),
    )
    .action(
      run(async (ctx, flags: OpenFlags) => {
        const priority = parseChoice(flags.priority, PRIORITIES, '--priority');
        const kind = parseChoice(flags.kind, KINDS, '--kind');
        const openedAt = flags.opened !== undefined ? await parseInstantFlag(ctx, flags.opened, '--opened') : undefined;
        const [customer, subject] = await ctx.require(
          { flag: '--customer', value: flags.customer, message: 'Customer (id, email or name)', parse: nonEmpty('--customer') },
          { flag: '--subject', value: flags.subject, message: 'Subject', parse: nonEmpty('--subject') },
        );
        const { openTicket } = await import('../../services/tickets.js');
        const row = await openTicket(
          await ctx.db(),
          { customer, subject, description: flags.description ?? null, priority, kind, ...(openedAt ? { openedAt } : {}) },
          ctx.meta(),
        );
        // Name the customer the reference matched, as sale record, deal add and activity add do.
        const { describeCustomer } = await import('../../services/customers.js');
        const who = await (await ctx.db()).selectFrom('customers').select(['id', 'name', 'email']).where('id', '=', row.customer_id).executeTakeFirstOrThrow();
        ctx.note(`opened ticket #${row.id} for ${describeCustomer(who)} (${priority}, due ${formatLocalTimestamp(row.due_at!)})`);
        await ctx.printText(String(row.id));
      }),
    );

  ticket
    .command('list')
    .description('list tickets, the ones still open soonest due first; overdue rows stand out')
    .option('--status <status>', STATUSES.join(', '))
    .option('--priority <priority>', PRIORITIES.join(', '))
    .option('--overdue', 'only open or pending tickets past their due time')
    .option('--customer <customer>', 'only this customer (id, email or unique name)')
    .addHelpText('after', examples('crm ticket list --overdue', 'crm ticket list --status open --priority urgent', 'crm ticket list --customer li.wei@example.com --format json'))
    .action(
      run(async (ctx, flags: ListFlags) => {
        const status = flags.status !== undefined ? parseChoice(flags.status, STATUSES, '--status') : undefined;
        const priority = flags.priority !== undefined ? parseChoice(flags.priority, PRIORITIES, '--priority') : undefined;
        let customerId: number | undefined;
        if (flags.customer !== undefined) {
          const { resolveCustomer } = await import('../../services/customers.js');
          customerId = (await resolveCustomer(await ctx.db(), flags.customer)).id;
        }
        const { listTickets } = await import('../../services/ticket-list.js');
        const rows = listTickets(await ctx.db(), { status, priority, overdue: Boolean(flags.overdue), customerId }, ctx.now());
        await ctx.printStream(LIST_COLUMNS, rows, { highlight: overdueRed });
      }),
    );

  ticket
    .command('show')
    .description('one ticket: its details, full history and satisfaction ratings')
    .argument('<id>', 'ticket number')
    .addHelpText('after', examples('crm ticket show 12', 'crm ticket show 12 --format json'))
    .action(
      run(async (ctx, idText: string) => {
        const id = parseTicketId(idText);
        const { showTicket } = await import('../../services/tickets.js');
        const { ticket: t, events, ratings } = await showTicket(await ctx.db(), id, ctx.now());
        const current = ratings.find((r) => r.superseded_at === null);
        await ctx.printDocument(
          [
            { key: 'ticket', title: `Ticket #${t.id}`, columns: TICKET_COLUMNS, record: { ...t, customer: t.customer_name, score: current?.score ?? null } },
            {
              key: 'history',
              title: 'History',
              columns: EVENT_COLUMNS,
              rows: events.map((e) => ({ at: e.at, event: e.kind, from: e.from_value, to: e.to_value, comment: e.comment, actor: e.actor })),
            },
            { key: 'ratings', title: 'Ratings', columns: RATING_COLUMNS, rows: ratings.map((r) => ({ ...r, current: r.superseded_at === null })) },
          ],
          { highlight: overdueRed },
        );
      }),
    );

  ticket
    .command('update')
    .description('change status, priority or assignee, or add a comment; every change is kept in the history')
    .argument('<id>', 'ticket number')
    .option('--status <status>', 'open, pending or closed (resolve with `ticket resolve`; reopening needs --comment)')
    .option('--priority <priority>', `${PRIORITIES.join(', ')}; the due time is recomputed from the opening`)
    .option('--assignee <name>', 'who works on it ("" to unassign)')
    .option('--comment <text>', 'a note for the history')
    .addHelpText(
      'after',
      examples(
        'crm ticket update 12 --status pending --comment "Asked for the order number"',
        'crm ticket update 12 --priority urgent --assignee mei',
        'crm ticket update 12 --status open --comment "Customer says it is still broken"',
      ),
    )
    .action(
      run(async (ctx, idText: string, flags: UpdateFlags) => {
        const id = parseTicketId(idText);
        const status = flags.status !== undefined ? parseChoice(flags.status, STATUSES, '--status') : undefined;
        const priority = flags.priority !== undefined ? parseChoice(flags.priority, PRIORITIES, '--priority') : undefined;
        const assignee = flags.assignee !== undefined ? flags.assignee.trim() || null : undefined;
        const comment = flags.comment !== undefined ? nonEmpty('--comment')(flags.comment) : undefined;
        if (status === undefined && priority === undefined && assignee === undefined && comment === undefined) {
          throw new UsageError('nothing to update', { hint: 'give --status, --priority, --assignee or --comment' });
        }
        if (status === 'resolved') {
          throw new UsageError('--status resolved is set by `crm ticket resolve`, which records the solution', {
            hint: `crm ticket resolve ${id} --solution "what fixed it"`,
          });
        }
        const { updateTicket } = await import('../../services/tickets.js');
        const result = await updateTicket(
          await ctx.db(),
          id,
          { ...(status ? { status } : {}), ...(priority ? { priority } : {}), ...(assignee !== undefined ? { assignee } : {}), ...(comment !== undefined ? { comment } : {}) },
          ctx.meta(),
        );
        ctx.note(`ticket #${id}: ${result.changes.join(', ')}${priority ? ` (now due ${formatLocalTimestamp(result.ticket.due_at!)})` : ''}`);
      }),
    );

  ticket
    .command('resolve')
    .description('resolve an open or pending ticket with its solution')
    .argument('<id>', 'ticket number')
    .option('--solution <text>', 'what solved it (required)')
    .addHelpText('after', examples('crm ticket resolve 12 --solution "Re-sent the invoice by email"'))
    .action(
      run(async (ctx, idText: string, flags: { solution?: string }) => {
        const id = parseTicketId(idText);
        const [solution] = await ctx.require({ flag: '--solution', value: flags.solution, message: 'Solution', parse: nonEmpty('--solution') });
        const { resolveTicket } = await import('../../services/tickets.js');
        const row = await resolveTicket(await ctx.db(), id, solution, ctx.meta());
        const took = Date.parse(row.resolved_at!) - Date.parse(row.opened_at);
        const late = Date.parse(row.resolved_at!) > Date.parse(row.due_at!);
        ctx.note(`resolved ticket #${id} after ${formatDuration(took)}${late ? ' (after its due time)' : ''}`);
      }),
    );

  ticket
    .command('rate')
    .description('record the customer\'s satisfaction (CSAT) with a resolved or closed ticket; a new rating replaces the old one, which stays in the history')
    .argument('<id>', 'ticket number')
    .option('--score <1-5>', '1 (very unsatisfied) to 5 (very satisfied) (required)')
    .option('--comment <text>', 'what the customer said')
    .addHelpText('after', examples('crm ticket rate 12 --score 5', 'crm ticket rate 12 --score 2 --comment "Took three days"'))
    .action(
      run(async (ctx, idText: string, flags: { score?: string; comment?: string }) => {
        const id = parseTicketId(idText);
        const [score] = await ctx.require({ flag: '--score', value: flags.score, message: 'Score (1-5)', parse: (v: string) => parseScore(v) });
        const { rateTicket } = await import('../../services/tickets.js');
        const result = await rateTicket(await ctx.db(), id, { score, comment: flags.comment ?? null }, ctx.meta());
        ctx.note(`rated ticket #${id}: ${score}${result.replaced ? ` (replaces ${result.replaced.score})` : ''}`);
      }),
    );
}
