// `crm customer risk` and `crm report risk`: the churn-risk score learnt from the shop's own
// history (services/risk.ts), with its backtest printed beside every result. Registered onto the
// `customer` and `report` nouns once they exist (see program.ts).
import type { Command } from 'commander';
import { UsageError } from '../../domain/errors.js';
import type { Column, Row, Section } from '../../io/render.js';
import type { RiskResult } from '../../services/risk.js';
import type { Context } from '../context.js';
import { examples, type Runtime } from '../runtime.js';
import { parseAsOfFlag, parseLimitFlag } from '../flags.js';

interface RiskFlags {
  asOf?: string;
  horizon?: string;
}

const HORIZON_UNITS: Record<string, number> = { d: 1, w: 7, m: 30, y: 365 };

/** `90d`, `12w`, `3m` (30 days each), `1y` (365 days), or a bare number of days; more than zero. */
export function parseHorizon(input: string): number {
  const match = /^\s*(\d{1,5})\s*([dwmy]?)\s*$/i.exec(input);
  if (!match) throw new UsageError(`--horizon "${input}" is not a horizon`, { hint: 'use a number of days, weeks, months or years, e.g. 90d, 12w, 3m, 1y' });
  const days = Number(match[1]) * HORIZON_UNITS[(match[2] || 'd').toLowerCase()]!;
  if (days === 0) throw new UsageError(`--horizon must be more than zero days, not "${input}"`, { hint: 'e.g. --horizon 90d' });
  if (days > 3650) throw new UsageError(`--horizon "${input}" is longer than ten years`, { hint: 'e.g. --horizon 90d' });
  return days;
}

const BACKTEST_COLUMNS: Column[] = [
  { key: 'as_of', header: 'As of', kind: 'date' },
  { key: 'horizon_days', header: 'Horizon (days)', kind: 'int' },
  { key: 'scored', header: 'Customers scored', kind: 'int' },
  { key: 'training_rows', header: 'Training rows', kind: 'int' },
  { key: 'snapshots', kind: 'int' },
  { key: 'base_rate', header: 'Stopped in training', kind: 'percent' },
  { key: 'trained_until', header: 'Backtest trained until', kind: 'date' },
  { key: 'backtest_customers', header: 'Backtest customers', kind: 'int' },
  { key: 'backtest_stopped', header: 'Backtest stopped', kind: 'int' },
  { key: 'auc', header: 'AUC', kind: 'number', digits: 3 },
  { key: 'brier', header: 'Brier score', kind: 'number', digits: 3 },
  { key: 'baseline_auc', header: 'Recency-only AUC', kind: 'number', digits: 3 },
  { key: 'baseline_brier', header: 'Recency-only Brier', kind: 'number', digits: 3 },
];

const round = (n: number, places = 4) => Math.round(n * 10 ** places) / 10 ** places;

function backtestRecord(result: RiskResult): Row {
  const b = result.backtest;
  return {
    as_of: result.asOf,
    horizon_days: result.horizonDays,
    scored: result.scored,
    training_rows: result.trainingRows,
    snapshots: result.snapshots,
    base_rate: round(result.baseRate),
    trained_until: b.trainedUntil,
    backtest_customers: b.customers,
    backtest_stopped: b.stopped,
    auc: round(b.auc),
    brier: round(b.brier),
    baseline_auc: round(b.baselineAuc),
    baseline_brier: round(b.baselineBrier),
  };
}

/** One line for formats that carry rows only (csv, tsv, ndjson): the backtest goes to stderr. */
function backtestLine(result: RiskResult): string {
  const b = result.backtest;
  return (
    `backtest: trained until ${b.trainedUntil}, scored against the ${result.horizonDays} days to ${result.asOf}: ` +
    `AUC ${b.auc.toFixed(3)}, Brier ${b.brier.toFixed(3)} (recency only: AUC ${b.baselineAuc.toFixed(3)}, Brier ${b.baselineBrier.toFixed(3)}); ` +
    `${b.stopped} of ${b.customers} customers stopped buying`
  );
}

async function computeRisk(ctx: Context, flags: RiskFlags, extra: { segment?: string; limit?: number }): Promise<RiskResult> {
  const horizonDays = flags.horizon !== undefined ? parseHorizon(flags.horizon) : 90;
  const db = await ctx.db();
  const asOf = (await parseAsOfFlag(ctx, flags.asOf)).today;
  const { customerRisk } = await import('../../services/risk.js');
  const cpuMs = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const result = await customerRisk(db, { asOf, horizonDays, segment: extra.segment, limit: extra.limit, now: ctx.now() }, () => performance.now(), cpuMs);
  if (ctx.deps.env.CRM_DEBUG === '1') {
    const t = result.timings;
    // CPU time beside wall time: on a busy machine the wall time says more about the neighbours.
    ctx.note(`risk: read the history in ${t.readMs.toFixed(0)} ms, trained and scored in ${t.modelMs.toFixed(0)} ms (CPU ${t.readCpuMs.toFixed(0)} ms and ${t.modelCpuMs.toFixed(0)} ms)`);
  }
  return result;
}

const HELP = `
The score is the probability that a customer who has bought before will NOT buy within the horizon,
learnt from this database's own history (logistic regression on recency, frequency, spend, usual gap
between purchases, spend trend, last contact, tickets, ratings and open deals, each as it stood at
snapshots before the as-of day). Revenue at risk = probability x the customer's last 12 months of spend.
The backtest trains the same way one horizon earlier and checks the scores against what then
happened: AUC (0.5 = a coin toss, 1 = perfect ranking) and Brier score (lower is better), beside a
model that knows only the days since the last purchase.`;

export function registerRisk(program: Command, { run }: Runtime): void {
  const customer = program.commands.find((c) => c.name() === 'customer')!;
  const report = program.commands.find((c) => c.name() === 'report')!;

  customer
    .command('risk')
    .description('customers likely to stop buying: the probability of no purchase within the horizon, revenue at risk, and why (with a backtest)')
    .option('--as-of <date>', 'score as of the end of that day, from the history dated up to it (default today)')
    .option('--horizon <days>', 'how far ahead: 90d (default), 12w, 3m, 1y')
    .option('--segment <name>', 'only customers in this saved segment (membership as of now)')
    .option('--limit <n>', 'show the top N by revenue at risk')
    .option('--explain', 'add the main reasons in words and a suggested next action')
    .option('--save', 'store every scored customer\'s score, so segments can use churn_risk and the agenda lists them')
    .addHelpText('after', HELP)
    .addHelpText(
      'after',
      examples(
        'crm customer risk --limit 20 --explain',
        'crm customer risk --horizon 60d --as-of 2025-03-31 --format csv --output risk.csv',
        'crm customer risk --save && crm segment create slipping --where "churn_risk > 0.7 and total_spent > 1000"',
      ),
    )
    .action(
      run(async (ctx, flags: RiskFlags & { segment?: string; limit?: string; explain?: boolean; save?: boolean }) => {
        const limit = parseLimitFlag(flags.limit);
        if (flags.horizon !== undefined) parseHorizon(flags.horizon);
        const format = ctx.format();
        const result = await computeRisk(ctx, flags, { segment: flags.segment });
        if (flags.save) {
          const { saveRiskScores } = await import('../../services/risk.js');
          const saved = await saveRiskScores(await ctx.db(), result, result.rows, ctx.meta());
          ctx.note(`saved the scores of ${saved} customer${saved === 1 ? '' : 's'}: use churn_risk in segments; crm agenda lists the valuable ones at high risk`);
        }
        const rows = limit !== undefined ? result.rows.slice(0, limit) : result.rows;
        const columns: Column[] = [
          { key: 'id', header: 'ID', kind: 'int' },
          { key: 'name' },
          { key: 'email' },
          { key: 'probability', header: 'Risk', kind: 'percent' },
          { key: 'spend_12m', header: '12-month spend', kind: 'money' },
          { key: 'revenue_at_risk', header: 'At risk', kind: 'money' },
          { key: 'last_purchase', kind: 'date' },
          { key: 'days_since', header: 'Days since', kind: 'int' },
          { key: 'usual_gap_days', header: 'Usual gap', kind: 'int' },
          ...(flags.explain ? [{ key: 'reasons' } as Column, { key: 'action', header: 'Next action' } as Column] : []),
        ];
        const data = rows.map((r) => ({
          id: r.id,
          name: r.name,
          email: r.email,
          probability: round(r.probability),
          spend_12m: r.spend12mCents,
          revenue_at_risk: r.revenueAtRiskCents,
          last_purchase: r.lastPurchase,
          days_since: r.daysSincePurchase,
          usual_gap_days: r.usualGapDays,
          // Only --explain shows them: no joining 100k customers' reasons for nothing.
          ...(flags.explain ? { reasons: r.reasons.join('; '), action: r.action } : {}),
        }));
        if (format === 'csv' || format === 'tsv' || format === 'ndjson') {
          ctx.note(backtestLine(result));
          await ctx.print(columns, data);
          return;
        }
        const sections: Section[] = [
          { key: 'backtest', title: `Churn risk as of ${result.asOf}, horizon ${result.horizonDays} days: backtest`, columns: BACKTEST_COLUMNS, record: backtestRecord(result) },
          {
            key: 'customers',
            title: `Customers by revenue at risk${flags.segment ? ` in segment ${flags.segment.trim()}` : ''}${limit !== undefined && result.rows.length > limit ? ` (top ${limit} of ${result.rows.length})` : ''}`,
            columns,
            rows: data,
          },
        ];
        await ctx.printDocument(sections);
      }),
    );

  report
    .command('risk')
    .description('churn risk: customers per risk band, revenue at risk in total and by saved segment (with the backtest)')
    .option('--as-of <date>', 'as of the end of that day, from the history dated up to it (default today)')
    .option('--horizon <days>', 'how far ahead: 90d (default), 12w, 3m, 1y')
    .addHelpText('after', HELP)
    .addHelpText('after', examples('crm report risk', 'crm report risk --horizon 60d --format md --output risk.md'))
    .action(
      run(async (ctx, flags: RiskFlags) => {
        if (flags.horizon !== undefined) parseHorizon(flags.horizon);
        ctx.format();
        const result = await computeRisk(ctx, flags, {});
        const { riskReport } = await import('../../services/risk.js');
        const report = await riskReport(await ctx.db(), result, ctx.now());
        const money = (key: string, header: string): Column => ({ key, header, kind: 'money' });
        await ctx.printDocument([
          { key: 'backtest', title: `Churn risk as of ${result.asOf}, horizon ${result.horizonDays} days: backtest`, columns: BACKTEST_COLUMNS, record: backtestRecord(result) },
          {
            key: 'bands',
            title: 'Customers by risk of not buying within the horizon',
            columns: [{ key: 'band' }, { key: 'range' }, { key: 'customers', kind: 'int' }, money('spend_12m', '12-month spend'), money('revenue_at_risk', 'At risk'), { key: 'bar', kind: 'bar' }],
            rows: report.bands.map((b) => ({ band: b.band, range: b.range, customers: b.customers, spend_12m: b.spend12mCents, revenue_at_risk: b.revenueAtRiskCents, bar: b.customers })),
          },
          {
            key: 'total',
            title: 'Total',
            columns: [{ key: 'customers', kind: 'int' }, money('spend_12m', '12-month spend'), money('revenue_at_risk', 'Revenue at risk')],
            record: { customers: report.total.customers, spend_12m: report.total.spend12mCents, revenue_at_risk: report.total.revenueAtRiskCents },
          },
          {
            key: 'segments',
            title: 'By saved segment (a customer counts in each of their segments)',
            columns: [{ key: 'segment' }, { key: 'customers', kind: 'int' }, { key: 'average_risk', header: 'Avg risk', kind: 'percent' }, money('spend_12m', '12-month spend'), money('revenue_at_risk', 'At risk')],
            rows: report.segments.map((s) => ({
              segment: s.segment,
              customers: s.customers,
              average_risk: s.averageProbability === null ? null : round(s.averageProbability),
              spend_12m: s.spend12mCents,
              revenue_at_risk: s.revenueAtRiskCents,
            })),
          },
        ]);
      }),
    );
}
