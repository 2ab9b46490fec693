// `crm report tickets [--period P]`: support volume, backlog, response and resolution times, SLA
// breaches and CSAT. Added under `crm report` (registered before this file by program.ts).
import type { Command } from 'commander';
import { startOfLocalDay } from '../../domain/dates.js';
import { PERIOD_FORMS } from '../../domain/periods.js';
import { parsePeriod } from '../../domain/ticket-periods.js';
import type { Column } from '../../io/render.js';
import { parseAsOfFlag } from '../flags.js';
import { examples, type Runtime } from '../runtime.js';

const HOUR = 3_600_000;

const SUMMARY_COLUMNS: readonly Column[] = [
  { key: 'period' },
  { key: 'from', header: 'From', kind: 'date' },
  { key: 'to', header: 'To', kind: 'date' },
  { key: 'as_of', header: 'As of', kind: 'timestamp' },
  { key: 'opened', header: 'Tickets opened', kind: 'int' },
  { key: 'resolved', header: 'Resolved or closed', kind: 'int' },
  { key: 'backlog', header: 'Backlog (open + pending)', kind: 'int' },
  { key: 'overdue', header: 'Overdue', kind: 'int' },
  { key: 'first_response_median_hours', header: 'First response, median (h)', kind: 'number' },
  { key: 'first_response_p90_hours', header: 'First response, 90th pct (h)', kind: 'number' },
  { key: 'resolution_median_hours', header: 'Resolution, median (h)', kind: 'number' },
  { key: 'resolution_p90_hours', header: 'Resolution, 90th pct (h)', kind: 'number' },
  { key: 'sla_decided', header: 'SLA decided', kind: 'int' },
  { key: 'sla_breached', header: 'SLA breached', kind: 'int' },
  { key: 'sla_breach_rate', header: 'SLA breach rate', kind: 'percent' },
  { key: 'ratings', header: 'Ratings', kind: 'int' },
  { key: 'csat', header: 'CSAT (4-5 of 5)', kind: 'percent' },
  { key: 'average_score', header: 'Average score', kind: 'number', digits: 2 },
];

const KIND_COLUMNS: readonly Column[] = [
  { key: 'kind' },
  { key: 'tickets', kind: 'int' },
  { key: 'share', kind: 'percent' },
  { key: 'bar', kind: 'bar' },
];

const PRIORITY_COLUMNS: readonly Column[] = [
  { key: 'priority' },
  { key: 'sla', header: 'SLA' },
  { key: 'tickets', kind: 'int' },
  { key: 'sla_decided', header: 'Decided', kind: 'int' },
  { key: 'sla_breached', header: 'Breached', kind: 'int' },
  { key: 'sla_breach_rate', header: 'Breach rate', kind: 'percent' },
];

const hours = (ms: number | null) => (ms === null ? null : Math.round((ms / HOUR) * 100) / 100);
const ratio = (part: number, whole: number) => (whole ? part / whole : null);

export function registerReportTickets(program: Command, { run }: Runtime): void {
  const report = program.commands.find((c) => c.name() === 'report');
  if (!report) throw new Error('register `crm report` before its tickets report');
  report
    .command('tickets')
    .description(
      'support figures for the tickets opened in a period: volume by kind and priority, backlog, first response and resolution times, SLA breaches, CSAT',
    )
    // The same forms, in the same words, as the other reports' --period.
    .option('--period <period>', `period: ${PERIOD_FORMS.join(', ')} (default: all time)`)
    .option('--as-of <date>', 'the figures as they stood at the end of that day, by the times tickets carry (opened, responses, status changes, ratings)')
    .addHelpText(
      'after',
      examples(
        'crm report tickets',
        'crm report tickets --period last-month',
        'crm report tickets --period this-month --as-of 2025-05-31',
        'crm report tickets --period 2025-Q1 --format md --output tickets.md',
      ),
    )
    .action(
      run(async (ctx, flags: { period?: string; asOf?: string }) => {
        const asOf = await parseAsOfFlag(ctx, flags.asOf);
        const now = asOf.instant;
        const period = flags.period !== undefined ? parsePeriod(flags.period, startOfLocalDay(asOf.today)) : undefined;
        const { ticketReport } = await import('../../services/ticket-report.js');
        const r = await ctx.readSnapshot((db) => ticketReport(db, period ? { from: period.from, to: period.to } : {}, now, { asOf: flags.asOf !== undefined }));
        await ctx.printDocument([
          {
            key: 'summary',
            title: `Tickets${period ? ` (${period.label})` : ' (all time)'}`,
            columns: SUMMARY_COLUMNS,
            record: {
              period: period?.label ?? 'all',
              from: period?.firstDay ?? null,
              to: period?.lastDay ?? null,
              as_of: now.toISOString(),
              opened: r.opened,
              resolved: r.resolved,
              backlog: r.backlog,
              overdue: r.overdue,
              first_response_median_hours: hours(r.firstResponse.medianMs),
              first_response_p90_hours: hours(r.firstResponse.p90Ms),
              resolution_median_hours: hours(r.resolution.medianMs),
              resolution_p90_hours: hours(r.resolution.p90Ms),
              sla_decided: r.slaDecided,
              sla_breached: r.slaBreached,
              sla_breach_rate: r.slaBreachRate,
              ratings: r.csat.ratings,
              csat: r.csat.csat,
              average_score: r.csat.averageScore === null ? null : Math.round(r.csat.averageScore * 100) / 100,
            },
          },
          {
            key: 'by_kind',
            title: 'By kind',
            columns: KIND_COLUMNS,
            rows: r.byKind.map((k) => ({ kind: k.kind, tickets: k.tickets, share: ratio(k.tickets, r.opened), bar: k.tickets })),
          },
          {
            key: 'by_priority',
            title: 'By priority',
            columns: PRIORITY_COLUMNS,
            rows: r.byPriority.map((p) => ({
              priority: p.priority,
              sla: p.sla,
              tickets: p.tickets,
              sla_decided: p.decided,
              sla_breached: p.breached,
              sla_breach_rate: ratio(p.breached, p.decided),
            })),
          },
        ]);
      }),
    );
}
