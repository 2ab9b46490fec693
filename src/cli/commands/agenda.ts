// `crm agenda`: one screen for the day — tasks overdue and due, tickets overdue or urgent, deals
// closing this week, customers going quiet. A document, so `--format md --output today.md` or a
// plain table piped to `mail` works from cron.
import type { Command } from 'commander';
import { localDay } from '../../domain/dates.js';
import type { Column, Row, Section } from '../../io/render.js';
import { examples, type Runtime } from '../runtime.js';
import { parseDayFlag } from '../flags.js';
import { highlightOverdue, taskColumns, taskRow } from '../task-rows.js';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function weekdayOf(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return WEEKDAYS[new Date(Date.UTC(y!, m! - 1, d!)).getUTCDay()]!;
}

export function registerAgenda(program: Command, { run }: Runtime): void {
  program
    .command('agenda')
    .description("the day on one screen: tasks overdue and due, tickets overdue or urgent, deals closing this week, customers going quiet, valuable customers at risk")
    .option('--for <date>', 'the day (default today), e.g. tomorrow or 2025-06-02')
    .option('--assignee <name>', 'only tasks and tickets assigned to this person')
    .addHelpText(
      'after',
      examples(
        'crm agenda',
        'crm agenda --for tomorrow --assignee anna',
        'crm agenda --format md --output today.md',
        'crm agenda --format md | mail -s "Agenda" owner@example.com    # from cron, e.g. at 0 7 * * *',
      ),
    )
    .action(
      run(async (ctx, flags: { for?: string; assignee?: string }) => {
        const { buildAgenda } = await import('../../services/agenda.js');
        const { getSetting } = await import('../../services/config.js');
        const now = ctx.now();
        const db = await ctx.db();
        const day = flags.for !== undefined ? await parseDayFlag(ctx, flags.for, '--for') : localDay(now);
        const quietDays = Number(await getSetting(db, 'quiet_days'));
        const agenda = await buildAgenda(db, { day, assignee: flags.assignee?.trim() || undefined, quietDays }, now);
        const isToday = day === localDay(now);
        const { atRiskCustomers, AT_RISK } = await import('../../services/risk.js');
        const atRisk = await atRiskCustomers(db, { day, ...AT_RISK });

        const summaryColumns: Column[] = [
          { key: 'day', kind: 'date' },
          { key: 'weekday' },
          { key: 'week', header: 'ISO week' },
          { key: 'assignee' },
          { key: 'overdue_tasks', kind: 'int', header: 'Overdue tasks' },
          { key: 'tasks_due', kind: 'int', header: 'Tasks due' },
          { key: 'tickets', kind: 'int', header: 'Tickets' },
          { key: 'deals_closing', kind: 'int', header: 'Deals closing' },
          { key: 'going_quiet', kind: 'int', header: 'Going quiet' },
          { key: 'at_risk', kind: 'int', header: 'At risk' },
        ];
        const summary: Row = {
          day,
          weekday: weekdayOf(day),
          week: `${agenda.week.label} (${agenda.week.monday} to ${agenda.week.sunday})`,
          assignee: agenda.assignee ?? 'everyone',
          overdue_tasks: agenda.overdueTasks.length,
          tasks_due: agenda.dueTasks.length,
          tickets: agenda.tickets.length,
          deals_closing: agenda.deals.length,
          going_quiet: agenda.quietTotal,
          at_risk: atRisk.total,
        };

        const lateColumn: Column = { key: 'days_late', header: 'Days late', kind: 'int' };
        const sections: Section[] = [
          { key: 'agenda', title: `Agenda for ${weekdayOf(day)} ${day}`, columns: summaryColumns, record: summary },
          {
            key: 'overdue_tasks',
            title: `Overdue tasks (due before ${day})`,
            columns: taskColumns(ctx, [lateColumn]).filter((c) => !['state', 'status', 'overdue', 'done_at'].includes(c.key)),
            rows: agenda.overdueTasks.map((t) => ({ ...taskRow(t, now, day), overdue: true })),
          },
          {
            key: 'tasks_due',
            title: isToday ? 'Due today' : `Due on ${day}`,
            columns: taskColumns(ctx).filter((c) => !['status', 'done_at'].includes(c.key)),
            rows: agenda.dueTasks.map((t) => taskRow(t, now, day)),
          },
          {
            key: 'tickets',
            title: 'Tickets overdue or urgent',
            columns: [
              { key: 'id', header: 'ID', kind: 'int' },
              { key: 'customer' },
              { key: 'subject' },
              { key: 'priority' },
              { key: 'status' },
              { key: 'due_at', header: 'Due', kind: 'timestamp' },
              { key: 'overdue', kind: 'bool' },
              { key: 'assignee' },
            ],
            rows: agenda.tickets.map((t) => ({
              id: t.id,
              customer_id: t.customerId,
              customer: t.customerName,
              subject: t.subject,
              priority: t.priority,
              status: t.status,
              due_at: t.dueAt,
              overdue: t.overdue,
              assignee: t.assignee,
            })),
          },
          {
            key: 'deals_closing',
            title: `Deals closing in ${agenda.week.label} (${agenda.week.monday} to ${agenda.week.sunday})`,
            columns: [
              { key: 'id', header: 'ID', kind: 'int' },
              { key: 'customer' },
              { key: 'title' },
              { key: 'stage' },
              { key: 'value', kind: 'money' },
              { key: 'probability', header: 'Prob %', kind: 'int' },
              { key: 'close_date', kind: 'date' },
            ],
            rows: agenda.deals.map((d) => ({
              id: d.id,
              customer: d.customerName,
              title: d.title,
              stage: d.stage,
              value: d.valueCents,
              probability: d.probability,
              close_date: d.closeDate,
            })),
          },
          {
            key: 'going_quiet',
            title:
              `Going quiet (no contact for more than ${quietDays} days)` +
              (agenda.quietTotal > agenda.quiet.length ? `: the ${agenda.quiet.length} most recent of ${agenda.quietTotal}` : ''),
            columns: [
              { key: 'id', header: 'ID', kind: 'int' },
              { key: 'name' },
              { key: 'email' },
              { key: 'phone' },
              { key: 'last_contact', kind: 'timestamp' },
              { key: 'days_since', kind: 'int' },
            ],
            rows: agenda.quiet.map((c) => ({
              id: c.id,
              name: c.name,
              email: c.email,
              phone: c.phone,
              last_contact: c.lastContact,
              days_since: c.daysSince,
            })),
          },
          {
            key: 'at_risk',
            title:
              `Valuable customers at risk (saved churn risk ${Math.round(AT_RISK.threshold * 100)}% or more, no contact for ${AT_RISK.quietDays} days)` +
              (atRisk.total > atRisk.customers.length ? `: the ${atRisk.customers.length} with most revenue at risk of ${atRisk.total}` : ''),
            columns: [
              { key: 'id', header: 'ID', kind: 'int' },
              { key: 'name' },
              { key: 'phone' },
              { key: 'risk', kind: 'percent' },
              { key: 'revenue_at_risk', header: 'At risk', kind: 'money' },
              { key: 'last_contact', kind: 'timestamp' },
              { key: 'action', header: 'Next action' },
              { key: 'reasons' },
            ],
            rows: atRisk.customers.map((c) => ({
              id: c.id,
              name: c.name,
              phone: c.phone,
              risk: Math.round(c.probability * 10_000) / 10_000,
              revenue_at_risk: c.revenueAtRiskCents,
              last_contact: c.lastContact,
              action: c.action,
              reasons: c.reasons,
            })),
          },
        ];
        await ctx.printDocument(sections, { highlight: highlightOverdue });
      }),
    );
}
