// `crm report sales|pipeline|forecast|customers|summary` (and `tickets`, from ./report-tickets.ts): the numbers, in every output format, for
// a person at a terminal (with bars) or a cron job (`--format csv --output FILE`). `--as-of DATE`
// computes any report from what had happened by the end of that day by the dates events carry;
// `--as-recorded` beside it reads what crm had recorded by then.
import type { Command } from 'commander';
import { addDays } from '../../domain/dates.js';
import { PERIOD_FORMS, type Period } from '../../domain/periods.js';
import { parseChoice, parseInteger } from '../../domain/validation.js';
import type { Column, Section } from '../../io/render.js';
import type { SalesBy } from '../../services/reports.js';
import type { Context } from '../context.js';
import { examples, type Runtime } from '../runtime.js';
import { AS_OF_HELP, AS_RECORDED_HELP, parseAsOfFlag, parseLimitFlag, parsePeriodFlags, rejectPeriodConflict, type AsOfFlag } from '../flags.js';

const BY_CHOICES = ['day', 'week', 'month', 'quarter', 'year', 'product', 'customer', 'city', 'segment'] as const;
const TOTAL_COLUMNS: readonly Column[] = [
  { key: 'from', kind: 'date' },
  { key: 'to', kind: 'date' },
  { key: 'count', header: 'Sales', kind: 'int' },
  { key: 'gross_revenue', header: 'Gross', kind: 'money' },
  { key: 'refunds', kind: 'money' },
  { key: 'revenue', header: 'Net revenue', kind: 'money' },
  { key: 'average_order', header: 'Avg order', kind: 'money' },
  { key: 'previous_from', header: 'Previous from', kind: 'date' },
  { key: 'previous_to', header: 'Previous to', kind: 'date' },
  { key: 'previous_count', header: 'Previous sales', kind: 'int' },
  { key: 'previous_revenue', header: 'Previous revenue', kind: 'money' },
  { key: 'change', kind: 'percent' },
];
const COMPARISON_KEYS = new Set(['previous_from', 'previous_to', 'previous_count', 'previous_revenue', 'change']);
const PERIOD_HELP = `period: ${PERIOD_FORMS.join(', ')}`;

interface RangeOptions {
  period?: string;
  from?: string;
  to?: string;
  asOf?: string;
  asRecorded?: boolean;
}

async function periodOf(ctx: Context, flags: RangeOptions, asOf: AsOfFlag, fallback: string): Promise<Period> {
  return parsePeriodFlags(ctx, flags, asOf.today, fallback);
}

/** ` (as of DAY)` in a title, or ` (as recorded by DAY)` with --as-recorded; nothing without --as-of. */
function asOfTitle(asOf: AsOfFlag): string {
  return asOf.cutoff === null ? '' : asOf.recorded ? ` (as recorded by ${asOf.today})` : ` (as of ${asOf.today})`;
}

function rangeText(from: string | null, last: string): string {
  return from === null ? `up to ${last}` : from === last ? from : `${from} to ${last}`;
}


export function registerReport(program: Command, runtime: Runtime): void {
  const { run } = runtime;
  const report = program.command('report').description('sales, pipeline, forecast, customer, ticket and summary reports (every --format, --output for cron)')
    .addHelpText('after', examples('crm report summary --period this-month', 'crm report sales --period 2025 --by month', 'crm report pipeline --format md --output pipeline.md'));

  report
    .command('sales')
    .description(
      'count, revenue, average order and change vs the previous period, by time or by product, customer, city or saved segment',
    )
    .option('--period <period>', `${PERIOD_HELP} (default: all)`)
    .option('--from <date>', 'first day, inclusive (instead of --period)')
    .option('--to <date>', 'last day, inclusive (instead of --period)')
    .option('--by <what>', `${BY_CHOICES.join(', ')} (default month)`)
    .option('--segment <name>', 'only the sales of the customers in this saved segment (or stored RFM group, e.g. rfm:at-risk)')
    .option('--limit <n>', 'with --by product, customer, city or segment: only the top N rows by revenue')
    .option('--as-of <date>', AS_OF_HELP)
    .option('--as-recorded', AS_RECORDED_HELP)
    .addHelpText(
      'after',
      '\n--by segment: one row per saved segment with the sales of its current members. A customer in several\n' +
        'segments counts in each, and customers in none are in no row, so the rows need not add up to the total.\n' +
        examples(
        'crm report sales --by month',
        'crm report sales --period last-month --by product --format csv --output /srv/reports/sales.csv',
        'crm report sales --from 2025-01-01 --to 2025-03-31 --by week',
        'crm report sales --period 2025-Q1 --by city --as-of 2025-04-01',
        'crm report sales --period this-year --by segment',
        'crm report sales --period 2025 --by month --segment vip',
      ),
    )
    .action(
      run(async (ctx, flags: RangeOptions & { by?: string; limit?: string; segment?: string }) => {
        rejectPeriodConflict(flags);
        const by = flags.by !== undefined ? parseChoice(flags.by, BY_CHOICES, '--by') : 'month';
        const limit = parseLimitFlag(flags.limit);
        const asOf = await parseAsOfFlag(ctx, flags.asOf, flags.asRecorded);
        const period = await periodOf(ctx, flags, asOf, 'all');
        const { salesReport } = await import('../../services/reports.js');
        const result = await ctx.readSnapshot((db) => salesReport(db, { period, by: by as SalesBy, asOf, limit, segment: flags.segment, now: ctx.now() }));
        if (by === 'segment' && result.rows.length === 0) ctx.note('no saved segments yet: create one with `crm segment create NAME --where EXPR`');
        const timeBased = ['day', 'week', 'month', 'quarter', 'year'].includes(by);
        const keyColumn: Column = { key: timeBased ? 'period' : by, header: timeBased ? by.charAt(0).toUpperCase() + by.slice(1) : undefined };
        const columns: Column[] = [
          keyColumn,
          ...(by === 'customer'
            ? [{ key: 'customer_id', header: 'ID', kind: 'int' } as Column, { key: 'email' } as Column, { key: 'external_id', header: 'External ID' } as Column]
            : []),
          ...(by === 'product' ? [{ key: 'sku', header: 'SKU' } as Column, { key: 'units', kind: 'int' } as Column] : []),
          { key: 'count', header: 'Sales', kind: 'int' },
          { key: 'gross_revenue', header: 'Gross', kind: 'money' },
          { key: 'refunds', kind: 'money' },
          { key: 'revenue', header: 'Net revenue', kind: 'money' },
          { key: 'average_order', header: 'Avg order', kind: 'money' },
          { key: 'previous_revenue', header: timeBased ? `Prev ${by}` : 'Prev period', kind: 'money' },
          { key: 'change', kind: 'percent' },
          { key: 'bar', kind: 'bar' },
        ];
        const rows = result.rows.map(({ key, ...rest }) => ({ [keyColumn.key]: key, ...rest, bar: rest.revenue }));
        const previous = result.previous;
        const total = {
          from: result.from,
          to: result.last,
          ...result.total,
          previous_from: previous?.from ?? null,
          previous_to: previous ? addDays(previous.to, -1) : null,
        };
        const sections: Section[] = [
          {
            key: 'sales',
            title:
              `Sales by ${by}${flags.segment !== undefined ? ` in segment ${flags.segment.trim()}` : ''}, ${rangeText(result.from, result.last)}` +
              `${asOfTitle(asOf)}${by === 'segment' ? ' (a customer counts in each of their segments)' : ''}`,
            columns,
            rows,
          },
          {
            key: 'total',
            total: true,
            title: flags.segment !== undefined ? `Total, segment ${flags.segment.trim()}` : 'Total',
            // Without a previous period (all time), a table leaves out the empty comparison lines;
            // machine formats keep every key, as null.
            columns: TOTAL_COLUMNS.filter((c) => previous !== null || ctx.format() !== 'table' || !COMPARISON_KEYS.has(c.key)),
            record: total,
          },
        ];
        await ctx.printDocument(sections);
      }),
    );

  report
    .command('pipeline')
    .description('the funnel: deals and value per stage, conversion, days in stage, win rate, weighted value by close month')
    .option('--as-of <date>', AS_OF_HELP)
    .option('--as-recorded', AS_RECORDED_HELP)
    .addHelpText('after', examples('crm report pipeline', 'crm report pipeline --format md --output pipeline.md', 'crm report pipeline --as-of 2025-03-31'))
    .action(
      run(async (ctx, flags: { asOf?: string; asRecorded?: boolean }) => {
        const asOf = await parseAsOfFlag(ctx, flags.asOf, flags.asRecorded);
        const { pipelineReport } = await import('../../services/reports.js');
        const result = await ctx.readSnapshot((db) => pipelineReport(db, asOf));
        const suffix = asOfTitle(asOf);
        await ctx.printDocument([
          {
            key: 'stages',
            title: `Pipeline${suffix}`,
            columns: [
              { key: 'stage' },
              { key: 'deals', kind: 'int' },
              { key: 'value', kind: 'money' },
              { key: 'weighted', kind: 'money' },
              { key: 'reached', kind: 'int' },
              { key: 'conversion', header: 'To next', kind: 'percent' },
              { key: 'avg_days', header: 'Avg days', kind: 'number' },
              { key: 'bar', kind: 'bar' },
            ],
            rows: result.stages.map((s) => ({ ...s, bar: s.value })),
          },
          {
            key: 'summary',
            title: 'Summary',
            columns: [
              { key: 'open_deals', kind: 'int' },
              { key: 'open_value', kind: 'money' },
              { key: 'weighted_value', header: 'Weighted value', kind: 'money' },
              { key: 'won_deals', kind: 'int' },
              { key: 'won_value', kind: 'money' },
              { key: 'lost_deals', kind: 'int' },
              { key: 'lost_value', kind: 'money' },
              { key: 'win_rate', kind: 'percent' },
            ],
            record: result.summary,
          },
          {
            key: 'close_months',
            title: 'Open deals by expected close month',
            columns: [
              { key: 'close_month', header: 'Close month' },
              { key: 'deals', kind: 'int' },
              { key: 'value', kind: 'money' },
              { key: 'weighted', kind: 'money' },
              { key: 'bar', kind: 'bar' },
            ],
            rows: result.byCloseMonth.map((m) => ({ ...m, bar: m.weighted })),
          },
        ]);
      }),
    );

  report
    .command('forecast')
    .description("monthly revenue forecast (Holt's linear trend; Holt-Winters with a 12-month season from 26 months), with its backtest error beside a naive forecast")
    .option('--months <n>', 'months to forecast, 1 to 36 (default 6)')
    .option('--as-of <date>', 'forecast from the history up to the end of that day, by the dates sales carry')
    .option('--as-recorded', AS_RECORDED_HELP)
    .addHelpText('after', examples('crm report forecast', 'crm report forecast --months 12 --format json'))
    .action(
      run(async (ctx, flags: { months?: string; asOf?: string; asRecorded?: boolean }) => {
        const months = flags.months !== undefined ? parseInteger(flags.months, '--months', 1, 36) : 6;
        const asOf = await parseAsOfFlag(ctx, flags.asOf, flags.asRecorded);
        const { forecastReport } = await import('../../services/reports.js');
        const result = await ctx.readSnapshot((db) => forecastReport(db, { months, asOf }));
        if (result.warning !== null) ctx.warn(result.warning);
        await ctx.printDocument([
          {
            key: 'method',
            title: 'Forecast method',
            columns: [
              { key: 'method' },
              { key: 'alpha', kind: 'number' },
              { key: 'beta', kind: 'number' },
              { key: 'gamma', kind: 'number' },
              { key: 'history_from', header: 'History from' },
              { key: 'history_to', header: 'History to' },
              { key: 'history_months', header: 'History months', kind: 'int' },
              { key: 'held_out_months', header: 'Backtest months', kind: 'int' },
              { key: 'mape', header: 'Backtest MAPE', kind: 'percent' },
              { key: 'naive_mape', header: 'Naive MAPE', kind: 'percent' },
            ],
            record: {
              method: result.method,
              alpha: result.alpha,
              beta: result.beta,
              gamma: result.gamma,
              history_from: result.historyFrom,
              history_to: result.historyTo,
              history_months: result.historyMonths,
              held_out_months: result.heldOut,
              mape: result.mape,
              naive_mape: result.naiveMape,
            },
          },
          {
            key: 'forecast',
            title: `Forecast, next ${months} month${months === 1 ? '' : 's'}`,
            columns: [{ key: 'month' }, { key: 'forecast', kind: 'money' }, { key: 'bar', kind: 'bar' }],
            rows: result.forecast.map((f) => ({ ...f, bar: f.forecast })),
          },
          {
            key: 'backtest',
            title: `Backtest on the last ${result.heldOut} months (fitted without them)`,
            columns: [{ key: 'month' }, { key: 'actual', kind: 'money' }, { key: 'forecast', kind: 'money' }, { key: 'naive', header: 'Naive (last value)', kind: 'money' }],
            rows: result.backtest,
          },
        ]);
      }),
    );

  report
    .command('customers')
    .description('new, active and churned customers (no purchase within churn_days) against the previous period, and the top customers by lifetime value')
    .option('--period <period>', `${PERIOD_HELP} (default: this-month)`)
    .option('--from <date>', 'first day, inclusive (instead of --period)')
    .option('--to <date>', 'last day, inclusive (instead of --period)')
    .option('--top <n>', 'how many top customers (default 10)')
    .option('--as-of <date>', AS_OF_HELP)
    .option('--as-recorded', AS_RECORDED_HELP)
    .addHelpText('after', examples('crm report customers', 'crm report customers --period last-quarter --top 20', 'crm config set churn_days 90'))
    .action(
      run(async (ctx, flags: RangeOptions & { top?: string }) => {
        rejectPeriodConflict(flags);
        const top = flags.top !== undefined ? parseInteger(flags.top, '--top', 1, 10_000) : 10;
        const asOf = await parseAsOfFlag(ctx, flags.asOf, flags.asRecorded);
        const period = await periodOf(ctx, flags, asOf, 'this-month');
        const { customersReport } = await import('../../services/reports.js');
        const result = await ctx.readSnapshot((db) => customersReport(db, { period, asOf, top }));
        const metrics: [keyof typeof result.current, string][] = [
          ['total', 'customers at the end'],
          ['new', 'new'],
          ['active', 'active (bought)'],
          ['churned', `churned (no purchase in ${result.churnDays} days)`],
          ['churned_in_period', 'became churned in the period'],
        ];
        const change = (a: number, b: number | undefined) => (b === undefined || b === 0 ? null : (a - b) / b);
        await ctx.printDocument([
          {
            key: 'customers',
            title: `Customers, ${rangeText(period.from, addDays(period.to, -1))}${asOfTitle(asOf)}`,
            columns: [{ key: 'metric' }, { key: 'label', header: 'What' }, { key: 'current', header: 'This period', kind: 'int' }, { key: 'previous', header: 'Previous', kind: 'int' }, { key: 'change', kind: 'percent' }],
            rows: metrics.map(([metric, label]) => ({
              metric,
              label,
              current: result.current[metric],
              previous: result.previous?.[metric] ?? null,
              change: change(result.current[metric], result.previous?.[metric]),
            })),
          },
          {
            key: 'top',
            title: 'Top customers by lifetime value',
            columns: [
              { key: 'rank', kind: 'int' },
              { key: 'customer_id', header: 'ID', kind: 'int' },
              { key: 'customer' },
              { key: 'orders', kind: 'int' },
              { key: 'lifetime_value', header: 'Lifetime value', kind: 'money' },
              { key: 'last_purchase', header: 'Last purchase', kind: 'date' },
            ],
            rows: result.top,
          },
        ]);
      }),
    );

  report
    .command('summary')
    .description('the KPIs on one screen: customers, revenue this and the previous period, open and weighted pipeline, open tickets, CSAT')
    .option('--period <period>', `${PERIOD_HELP} (default: this-month)`)
    .option('--as-of <date>', AS_OF_HELP)
    .option('--as-recorded', AS_RECORDED_HELP)
    .addHelpText('after', examples('crm report summary', 'crm report summary --period last-month --format md --output summary.md'))
    .action(
      run(async (ctx, flags: { period?: string; asOf?: string; asRecorded?: boolean }) => {
        const asOf = await parseAsOfFlag(ctx, flags.asOf, flags.asRecorded);
        const period = await periodOf(ctx, flags, asOf, 'this-month');
        const { summaryReport } = await import('../../services/reports.js');
        const result = await ctx.readSnapshot((db) => summaryReport(db, { period, asOf }));
        await ctx.printDocument([
          {
            key: 'summary',
            title: `Summary, ${period.label}: ${rangeText(result.from, result.last)}${asOfTitle(asOf)}`,
            columns: [
              { key: 'from', kind: 'date' },
              { key: 'to', kind: 'date' },
              { key: 'customers', header: 'Customers', kind: 'int' },
              { key: 'new_customers', header: 'New customers', kind: 'int' },
              { key: 'orders', header: 'Sales', kind: 'int' },
              { key: 'revenue', kind: 'money' },
              { key: 'average_order', header: 'Avg order', kind: 'money' },
              { key: 'previous_revenue', header: 'Previous revenue', kind: 'money' },
              { key: 'revenue_change', header: 'Revenue change', kind: 'percent' },
              { key: 'open_deals', header: 'Open deals', kind: 'int' },
              { key: 'open_deal_value', header: 'Open deal value', kind: 'money' },
              { key: 'weighted_pipeline', header: 'Weighted pipeline', kind: 'money' },
              { key: 'open_tickets', header: 'Open tickets', kind: 'int' },
              { key: 'csat', header: 'CSAT (4-5 of 5)', kind: 'percent' },
              { key: 'average_score', header: 'Average score', kind: 'number', digits: 2 },
              { key: 'ratings', header: 'Ratings', kind: 'int' },
            ],
            record: { ...result, to: result.last },
          },
        ]);
      }),
    );
}
