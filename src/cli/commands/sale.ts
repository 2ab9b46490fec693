// `crm sale record|list|void`: recorded sales. A void keeps the row and drops it from every total.
import type { Command } from 'commander';
import { parseMoney } from '../../domain/money.js';
import { parseInteger } from '../../domain/validation.js';
import type { Column } from '../../io/render.js';
import { moneyFlag, nonEmpty, parseDayAndTimeFlag, parseDayFlag, parseDayRangeFlags, parseLimitFlag } from '../flags.js';
import { examples, type Runtime } from '../runtime.js';

export const SALE_COLUMNS: readonly Column[] = [
  { key: 'id', kind: 'int' },
  { key: 'sold_on', header: 'Date', kind: 'date' },
  // The instant when the sale's time is known (tables: local time; CSV/JSON: ISO 8601 UTC).
  { key: 'sold_at', header: 'Time', kind: 'timestamp' },
  { key: 'customer_id', header: 'Cust', kind: 'int' },
  { key: 'customer' },
  { key: 'product' },
  { key: 'quantity', header: 'Qty', kind: 'int' },
  { key: 'amount', kind: 'money' },
  { key: 'note' },
  { key: 'deal_id', header: 'Deal', kind: 'int' },
  { key: 'voided_at', header: 'Voided', kind: 'timestamp' },
  { key: 'void_reason' },
];

/** `sale show`: every field of one sale. */
const SALE_DETAIL_COLUMNS: readonly Column[] = [
  { key: 'id', kind: 'int' },
  { key: 'sold_on', header: 'Date', kind: 'date' },
  { key: 'sold_at', header: 'Time', kind: 'timestamp' },
  { key: 'customer_id', header: 'Customer ID', kind: 'int' },
  { key: 'customer' },
  { key: 'product' },
  { key: 'sku', header: 'SKU' },
  { key: 'order_id', header: 'Order' },
  { key: 'quantity', kind: 'int' },
  { key: 'unit_price', kind: 'money' },
  { key: 'amount', kind: 'money' },
  { key: 'note' },
  { key: 'external_id', header: 'External ID' },
  { key: 'refund_of', header: 'Refund of', kind: 'int' },
  { key: 'deal_id', header: 'Deal', kind: 'int' },
  { key: 'created_at', header: 'Recorded', kind: 'timestamp' },
  { key: 'voided_at', header: 'Voided', kind: 'timestamp' },
  { key: 'void_reason' },
];

const REFUND_COLUMNS: readonly Column[] = [
  { key: 'id', kind: 'int' },
  { key: 'sold_on', header: 'Date', kind: 'date' },
  { key: 'sold_at', header: 'Time', kind: 'timestamp' },
  { key: 'quantity', header: 'Qty', kind: 'int' },
  { key: 'amount', kind: 'money' },
  { key: 'note' },
  { key: 'voided_at', header: 'Voided', kind: 'timestamp' },
];

interface RecordFlags {
  customer?: string;
  product?: string;
  amount?: string;
  quantity?: string;
  date?: string;
  note?: string;
}

interface ListFlags {
  customer?: string;
  product?: string;
  from?: string;
  to?: string;
  includeVoided?: boolean;
  limit?: string;
}

export function registerSale(program: Command, { run }: Runtime): void {
  const sale = program.command('sale').description('record, list, show, refund and void sales')
    .addHelpText('after', examples('crm sale record --customer li.wei@example.com --product "Green tea 250g" --amount 128.00', 'crm sale list --from 2025-01-01 --format csv', 'crm sale show 42', 'crm sale void 42 --reason "returned"'));

  sale
    .command('record')
    .description('record a sale: the amount is the total of the line, the quantity informational')
    .option('--customer <customer>', 'customer id, email or unique name (leave out for a guest/walk-in sale)')
    .option('--product <product>', 'what was sold (required)')
    .option('--amount <amount>', 'total amount, e.g. 1234.50 or ¥1,234.50 (required)')
    .option('--quantity <n>', 'how many (default 1)')
    .option('--date <date>', 'day of the sale (default today): YYYY-MM-DD, yesterday, 7d-ago; with a time: "2025-03-01 16:20" (local) or ISO 8601 with an offset')
    .option('--note <text>', 'free text')
    .addHelpText(
      'after',
      examples('crm sale record --customer li.wei@example.com --product "Tea set" --amount 1,280.00', 'crm sale record --customer 12 --product Teapot --amount 199 --quantity 2 --date 2025-03-01 --note "gift wrap"', 'crm sale record --product Teapot --amount 199 --date "2025-03-01 16:20"'),
    )
    .action(
      run(async (ctx, flags: RecordFlags) => {
        const customer = flags.customer !== undefined ? nonEmpty('--customer')(flags.customer) : null;
        const [product, amountCents] = await ctx.require(
          { flag: '--product', value: flags.product, message: 'Product', parse: nonEmpty('--product') },
          { flag: '--amount', value: flags.amount, message: 'Amount', parse: moneyFlag('--amount') },
        );
        const quantity = flags.quantity !== undefined ? parseInteger(flags.quantity, '--quantity', 1, 1_000_000_000) : 1;
        const when = flags.date !== undefined ? await parseDayAndTimeFlag(ctx, flags.date, '--date') : undefined;
        const { recordSale, describeSale } = await import('../../services/sales.js');
        const { localDay } = await import('../../domain/dates.js');
        const result = await recordSale(
          await ctx.db(),
          { customer, product, amountCents, quantity, soldOn: when?.day ?? localDay(ctx.now()), soldAt: when?.at ?? null, note: flags.note ?? null },
          ctx.meta(),
        );
        ctx.note(`recorded sale ${describeSale(result.sale)} for ${result.customer}`);
        await ctx.printText(String(result.sale.id));
      }),
    );

  sale
    .command('list')
    .description('list sales, oldest first (voided sales only with --include-voided)')
    .option('--customer <customer>', 'only this customer (id, email or unique name)')
    .option('--product <product>', 'only this product (any case)')
    .option('--from <date>', 'first day, inclusive')
    .option('--to <date>', 'last day, inclusive')
    .option('--include-voided', 'also list voided sales')
    .option('--limit <n>', 'at most N sales')
    .addHelpText('after', examples('crm sale list --customer li.wei@example.com', 'crm sale list --from 2025-01-01 --to 2025-03-31 --format csv'))
    .action(
      run(async (ctx, flags: ListFlags) => {
        const { from, to } = await parseDayRangeFlags(ctx, flags);
        const limit = parseLimitFlag(flags.limit);
        const { listSales } = await import('../../services/sales.js');
        const rows = await listSales(await ctx.db(), {
          customer: flags.customer,
          product: flags.product?.trim(),
          from,
          to,
          includeVoided: Boolean(flags.includeVoided),
          limit,
        });
        await ctx.printStream(SALE_COLUMNS, rows, { highlight: (row) => (row.voided_at ? 'dim' : undefined) });
      }),
    );

  sale
    .command('show')
    .description('one sale: its date and time, customer, order line, amounts, refunds and void')
    .argument('<id>', 'sale id')
    .addHelpText('after', examples('crm sale show 42', 'crm sale show 42 --format json'))
    .action(
      run(async (ctx, id: string) => {
        const saleId = parseInteger(id, 'sale id', 1);
        const { showSale } = await import('../../services/sales.js');
        const { sale: row, refunds } = await showSale(await ctx.db(), saleId);
        await ctx.printDocument([
          { key: 'sale', title: `Sale #${row.id}`, columns: SALE_DETAIL_COLUMNS, record: row },
          { key: 'refunds', title: 'Refunds', columns: REFUND_COLUMNS, rows: refunds },
        ]);
      }),
    );

  sale
    .command('refund')
    .description('refund a sale (all that remains refundable, or --amount): a refund row with a negative amount, netted out of every revenue figure')
    .argument('<id>', 'id of the sale refunded')
    .option('--amount <amount>', 'how much to refund (default: all that remains refundable)')
    .option('--reason <text>', 'why, kept as the refund\'s note')
    .option('--date <date>', 'day of the refund (default today)')
    .addHelpText('after', examples('crm sale refund 42', 'crm sale refund 42 --amount 20.00 --reason "chipped lid"'))
    .action(
      run(async (ctx, id: string, flags: { amount?: string; reason?: string; date?: string }) => {
        const saleId = parseInteger(id, 'sale id', 1);
        const amountCents = flags.amount !== undefined ? parseMoney(flags.amount, { label: '--amount', allowZero: false }) : null;
        const refundedOn = flags.date !== undefined ? await parseDayFlag(ctx, flags.date, '--date') : undefined;
        const { refundSale, describeSale } = await import('../../services/sales.js');
        const { localDay } = await import('../../domain/dates.js');
        const { centsToDecimal } = await import('../../domain/money.js');
        const result = await refundSale(
          await ctx.db(),
          { saleId, amountCents, reason: flags.reason?.trim() || null, refundedOn: refundedOn ?? localDay(ctx.now()) },
          ctx.meta(),
        );
        ctx.note(`refunded ${centsToDecimal(-result.refund.amount_cents)} of sale ${describeSale(result.sale)} (${centsToDecimal(result.remainingCents)} remains refundable)`);
        await ctx.printText(String(result.refund.id));
      }),
    );

  sale
    .command('void')
    .description('void a sale: the row stays, with its reason, but no total counts it')
    .argument('<id>', 'sale id')
    .option('--reason <text>', 'why, kept with the sale')
    .addHelpText('after', examples('crm sale void 42 --reason "returned"'))
    .action(
      run(async (ctx, id: string, flags: { reason?: string }) => {
        const saleId = parseInteger(id, 'sale id', 1);
        const { voidSale, describeSale } = await import('../../services/sales.js');
        const row = await voidSale(await ctx.db(), saleId, flags.reason?.trim() || null, ctx.meta());
        ctx.note(`voided sale ${describeSale(row)}`);
      }),
    );
}
