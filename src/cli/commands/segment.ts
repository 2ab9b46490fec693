// `crm segment …`: saved `--where` expressions (create, list, show, rm), RFM groups and breakdowns.
import type { Command } from 'commander';
import type { Column, Row } from '../../io/render.js';
import type { RfmResult, SegmentAsOf } from '../../services/segment-read.js';
import { UsageError } from '../../domain/errors.js';
import type { Context } from '../context.js';
import { parseAsOfFlag } from '../flags.js';
import { mapRows } from '../rows.js';
import { examples, type Runtime } from '../runtime.js';

/**
 * `--as-of DAY` on segments: history by the dates sales carry (sold by the end of that day), and
 * ages such as `90d` counted back from that day. Null without the flag: now.
 */
async function segmentAsOf(ctx: Context, value: string | undefined): Promise<{ now: Date; asOf: SegmentAsOf | null }> {
  if (value === undefined) return { now: ctx.now(), asOf: null };
  const flag = await parseAsOfFlag(ctx, value);
  // The last moment of the day, so that "today" in the expression is that day.
  return { now: new Date(Date.parse(flag.cutoff!) - 1), asOf: { day: flag.today, cutoff: flag.cutoff! } };
}

const MEMBER_COLUMNS: Column[] = [
  { key: 'id', kind: 'int', header: 'ID' },
  { key: 'name' },
  { key: 'email' },
  { key: 'phone' },
  { key: 'city' },
  { key: 'age', kind: 'int' },
  { key: 'total_spent', kind: 'money' },
  { key: 'orders', kind: 'int' },
  { key: 'last_purchase', kind: 'date' },
];

const SHARE_COLUMNS: Column[] = [
  { key: 'customers', kind: 'int' },
  { key: 'share', kind: 'percent' },
  { key: 'bar', kind: 'bar' },
  { key: 'revenue', kind: 'money' },
  { key: 'average_spend', kind: 'money', header: 'Avg spend' },
];

const WHERE_HELP = `
Expressions (--where):
  fields     name email phone age gender city company source tag created total_spent orders
             last_purchase open_tickets churn_risk, and custom fields as field.KEY
  operators  = != < <= > >= ~ (contains)   in ("a", "b")   between A and B (inclusive)
             is empty   is not empty   and   or   not   ( )      precedence: not > and > or
  values     "quoted text" (\\" escapes a quote), numbers, amounts (total_spent > 1000),
             dates (2025-01-31, today), ages (last_purchase < 90d: within the last 90 days),
             probabilities (churn_risk > 0.7 or > 70%: the latest score saved by customer risk --save)
  Text compares case-insensitively. "not tag = \\"x\\"" includes untagged customers; last_purchase
  comparisons leave out customers who never bought (find them with last_purchase is empty).`;

const RFM_HELP = `
Scores: R (recency of the last purchase), F (number of orders) and M (money spent) are 1-5
quintiles over the customers with purchases: score = 1 + floor(5 × customers with a smaller
value / customers scored), so equal values share a score and 5 is the most recent / most orders /
most spent. Groups, first matching rule wins (FM = F + M):
  champions    R 4-5 and FM 8-10
  loyal        R 3-5 and FM 6-10
  new          R 4-5 and F 1
  potential    R 3-5, the rest
  at-risk      R 1-2 and FM 6-10
  hibernating  R 2, the rest
  lost         R 1, the rest
--save stores each customer's group, so --segment rfm:at-risk (and segment show rfm:at-risk)
use that snapshot until the next --save.`;

export function registerSegment(program: Command, { run }: Runtime): void {
  const segment = program.command('segment').description('classify customers: saved filters, RFM groups and breakdowns')
    .addHelpText('after', examples('crm segment create big-spenders --where "total_spent > 1000"', 'crm segment show big-spenders', 'crm segment breakdown --by city'));

  segment
    .command('create')
    .description('save a segment: a --where expression evaluated whenever the segment is used')
    .argument('<name>', 'segment name (letters, digits, spaces, _ . -)')
    .option('--where <expr>', 'the filter expression (required)')
    .option('--description <text>', 'what the segment is for')
    .addHelpText('after', WHERE_HELP)
    .addHelpText(
      'after',
      examples(
        `crm segment create shanghai-vip --where 'city = "Shanghai" and tag = "vip"'`,
        `crm segment create lapsed --where 'last_purchase > 180d and orders >= 2' --description "bought twice, not lately"`,
        `crm segment create young-big-spenders --where 'age between 18 and 30 and total_spent > 5000'`,
      ),
    )
    .action(
      run(async (ctx, name: string, flags: { where?: string; description?: string }) => {
        const { createSegment } = await import('../../services/segments.js');
        const { parseSegmentExpression } = await import('../../domain/segment-expression.js');
        const [where] = await ctx.require({
          flag: '--where',
          value: flags.where,
          message: 'Filter expression',
          parse: (text) => {
            parseSegmentExpression(text);
            return text;
          },
        });
        const { segment: saved, size } = await createSegment(await ctx.db(), { name, expression: where, description: flags.description ?? null }, ctx.meta());
        ctx.note(`created segment "${saved.name}": ${size} customer${size === 1 ? '' : 's'} now`);
      }),
    );

  segment
    .command('list')
    .description('list saved segments with the number of customers in each now, or --as-of a day')
    .option('--as-of <date>', 'sizes as they stood at the end of that day, by the dates sales carry (stored RFM groups are left out)')
    .addHelpText('after', examples('crm segment list', 'crm segment list --format json', 'crm segment list --as-of 2010-12-31'))
    .action(
      run(async (ctx, flags: { asOf?: string }) => {
        const { now, asOf } = await segmentAsOf(ctx, flags.asOf);
        const { listSegments } = await import('../../services/segments.js');
        const segments = await listSegments(await ctx.db(), now, asOf);
        for (const s of segments) if (s.customers === null) ctx.warn(`segment "${s.name}" has an expression this crm cannot read; see crm segment show "${s.name}"`);
        await ctx.print(
          [{ key: 'name' }, { key: 'customers', kind: 'int' }, { key: 'expression' }, { key: 'description' }, { key: 'created_at', header: 'Created', kind: 'timestamp' }],
          segments.map((s) => ({ name: s.name, customers: s.customers, expression: s.expression, description: s.description, created_at: s.createdAt })),
        );
      }),
    );

  segment
    .command('show')
    .description('list the customers in a segment now, or --as-of a day (a saved segment, or a stored RFM group such as rfm:at-risk)')
    .argument('<name>', 'segment name')
    .option('--as-of <date>', 'as it stood at the end of that day, by the dates sales carry')
    .addHelpText('after', examples('crm segment show shanghai-vip', 'crm segment show lapsed --format csv > lapsed.csv', 'crm segment show rfm:at-risk', 'crm segment show lapsed --as-of 2011-12-31'))
    .action(
      run(async (ctx, name: string, flags: { asOf?: string }) => {
        const { now, asOf } = await segmentAsOf(ctx, flags.asOf);
        const { segmentMembersOn } = await import('../../services/segment-read.js');
        ctx.format();
        const { segment: found, members } = await segmentMembersOn(await ctx.reader(), name, now, asOf);
        let count = 0;
        const counted = mapRows(members, (member) => {
          count++;
          return member as unknown as Row;
        });
        await ctx.printStream(MEMBER_COLUMNS, counted);
        const what = found.expression ?? found.description ?? '';
        ctx.note(`${count} customer${count === 1 ? '' : 's'} in ${found.name}${what ? ` (${what})` : ''}${asOf ? ` as of ${asOf.day}` : ''}`);
      }),
    );

  segment
    .command('rm')
    .description('remove a saved segment (its customers are not touched; `crm undo` brings it back)')
    .argument('<name>', 'segment name')
    .addHelpText('after', examples('crm segment rm lapsed'))
    .action(
      run(async (ctx, name: string) => {
        const { removeSegment } = await import('../../services/segments.js');
        const removed = await removeSegment(await ctx.db(), name, ctx.meta());
        ctx.note(`removed segment "${removed.name}" (it was: ${removed.expression})`);
      }),
    );

  segment
    .command('rfm')
    .description('score customers on recency, frequency and money spent, and count them per named group')
    .option('--save', 'store each customer\'s group so `--segment rfm:GROUP` can use it')
    .option('--as-of <date>', 'score the purchases sold by the end of that day (not with --save)')
    .addHelpText('after', RFM_HELP)
    .addHelpText('after', examples('crm segment rfm', 'crm segment rfm --save && crm customer list --segment rfm:at-risk', 'crm segment rfm --format csv'))
    .action(
      run(async (ctx, flags: { save?: boolean; asOf?: string }) => {
        if (flags.save && flags.asOf !== undefined) {
          throw new UsageError('--as-of cannot be combined with --save', { hint: 'the stored groups are always scored now; look at an earlier day without --save' });
        }
        const { asOf } = await segmentAsOf(ctx, flags.asOf);
        ctx.format();
        let result: RfmResult;
        if (flags.save) {
          const { saveRfmGroups } = await import('../../services/segments.js');
          result = await saveRfmGroups(await ctx.db(), ctx.meta());
        } else {
          // Read-only: the raw handle, without loading Kysely.
          const { rfmGroupsOn } = await import('../../services/segment-read.js');
          result = await rfmGroupsOn(await ctx.reader(), asOf);
        }
        await ctx.print(
          [{ key: 'group' }, { key: 'rule' }, ...SHARE_COLUMNS],
          result.groups.map((g) => ({
            group: g.group,
            rule: g.rule,
            customers: g.customers,
            share: result.scored > 0 ? g.customers / result.scored : 0,
            bar: g.customers,
            revenue: g.revenue,
            average_spend: g.customers > 0 ? Math.round(g.revenue / g.customers) : 0,
          })),
        );
        ctx.note(`scored ${result.scored} customers with purchases${asOf ? ` by ${asOf.day}` : ''}; ${result.withoutPurchases} without purchases are not scored`);
        if (flags.save) ctx.note(`saved the groups: use them as --segment rfm:GROUP, e.g. crm customer list --segment rfm:at-risk`);
      }),
    );

  segment
    .command('breakdown')
    .description('count customers, their share, revenue and average spend per class')
    .option('--by <class>', 'age:18,25,35,50 (half-open bands), gender, city, tag or source (required)')
    .option('--segment <name>', 'only the customers in this segment')
    .option('--as-of <date>', 'the customers there by the end of that day and their purchases by then (by the dates sales carry)')
    .addHelpText(
      'after',
      `
Age bands are half-open: age:18,25,35,50 gives <18, 18–24, 25–34, 35–49, 50+ and unknown.
Every customer is in exactly one class, so the counts add up to the total, except with --by tag:
a customer with several tags counts once per tag, and customers without tags are (untagged).
Revenue is the customers' non-voided sales; average spend is revenue / customers in the class.`,
    )
    .addHelpText('after', examples('crm segment breakdown --by age:18,25,35,50', 'crm segment breakdown --by city --format csv', 'crm segment breakdown --by tag --segment shanghai-vip', 'crm segment breakdown --by city --as-of 2010-12-31'))
    .action(
      run(async (ctx, flags: { by?: string; segment?: string; asOf?: string }) => {
        const { breakdown, parseBreakdownBy } = await import('../../services/segments.js');
        const [by] = await ctx.require({ flag: '--by', value: flags.by, message: 'Break down by (age:18,25,35,50, gender, city, tag, source)', parse: parseBreakdownBy });
        ctx.format();
        const { now, asOf } = await segmentAsOf(ctx, flags.asOf);
        const result = await breakdown(await ctx.db(), by, now, flags.segment, asOf);
        await ctx.print(
          [{ key: 'class', header: by.kind === 'age' ? 'Age' : by.kind.charAt(0).toUpperCase() + by.kind.slice(1) }, ...SHARE_COLUMNS],
          result.rows.map((r) => ({ ...r, bar: r.customers })),
        );
        const { formatMoney } = await import('../../domain/money.js');
        ctx.note(`${result.total} customers${flags.segment ? ` in ${flags.segment}` : ''}, revenue ${formatMoney(result.revenue)}${asOf ? ` as of ${asOf.day}` : ''}`);
        if (by.kind === 'tag') ctx.note('customers with several tags are counted once per tag, so the counts can add up to more than the total');
      }),
    );
}
