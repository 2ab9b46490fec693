// Recorded sales: record, list and void. A void keeps the row (with when and why) and drops it
// from every total; every write records an audit entry in its transaction.
import { sql, type Kysely, type Transaction } from 'kysely';
import { customerLabelSql } from '../db/customer-label.js';
import { forUpdate } from '../db/row-locks.js';
import type { DB, SaleRow } from '../db/schema.js';
import { localDay } from '../domain/dates.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { centsToDecimal } from '../domain/money.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { describeCustomer, resolveCustomer } from './customers.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface SaleInput {
  /** A customer reference: id, email or unique name; null for a guest (walk-in) sale. */
  customer: string | null;
  product: string;
  amountCents: number;
  quantity: number;
  /** Local calendar day `YYYY-MM-DD`. */
  soldOn: string;
  /** The instant (ISO UTC) when the time of the sale is known; its local day is soldOn. */
  soldAt?: string | null;
  note: string | null;
}

export type SaleView = {
  id: number;
  sold_on: string;
  sold_at: string | null;
  customer_id: number | null;
  customer: string | null;
  product: string;
  quantity: number;
  amount: number;
  note: string | null;
  deal_id: number | null;
  voided_at: string | null;
  void_reason: string | null;
};

/** `#12 199.00 Teapot on 2025-03-01`. */
export function describeSale(s: Pick<SaleRow, 'id' | 'amount_cents' | 'product' | 'sold_on'>): string {
  return `#${s.id} ${centsToDecimal(s.amount_cents)} ${s.product} on ${s.sold_on}`;
}

/** Inserts one sale row and its audit change (used by `sale record` and by winning a deal). */
export async function insertSale(
  trx: Transaction<DB>,
  values: { customerId: number | null; product: string; amountCents: number; quantity: number; soldOn: string; soldAt?: string | null; note: string | null; dealId: number | null },
  meta: WriteMeta,
  action: string,
): Promise<SaleRow> {
  const row = await trx
    .insertInto('sales')
    .values({
      customer_id: values.customerId,
      product: values.product,
      quantity: values.quantity,
      amount_cents: values.amountCents,
      sold_on: values.soldOn,
      sold_at: values.soldAt ?? null,
      note: values.note,
      deal_id: values.dealId,
      created_at: meta.now.toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const audit = await beginAudit(trx, meta, { action, entity: 'sale', entityId: row.id, customerId: values.customerId, summary: describeSale(row) });
  await audit.inserted('sales', row.id, row);
  return row;
}

export async function recordSale(db: Kysely<DB>, input: SaleInput, meta: WriteMeta): Promise<{ sale: SaleRow; customer: string }> {
  return db.transaction().execute(async (trx) => {
    const customer = input.customer === null ? null : await resolveCustomer(trx, input.customer);
    const sale = await insertSale(
      trx,
      { customerId: customer?.id ?? null, product: input.product, amountCents: input.amountCents, quantity: input.quantity, soldOn: input.soldOn, soldAt: input.soldAt, note: input.note, dealId: null },
      meta,
      'sale.record',
    );
    return { sale, customer: customer ? describeCustomer(customer) : GUEST_LABEL };
  });
}

/** How a sale without a customer (a walk-in, a guest checkout) is shown. */
export const GUEST_LABEL = '(guest)';

export interface RefundInput {
  saleId: number;
  /** Cents, more than zero; null: whatever remains refundable. */
  amountCents: number | null;
  reason: string | null;
  /** Local calendar day of the refund. */
  refundedOn: string;
}

/** Cents of `saleId` already refunded by live (not voided) refund rows. */
async function refundedCents(db: Db, saleId: number): Promise<number> {
  const row = await db
    .selectFrom('sales')
    .select((eb) => eb.fn.sum<number | string | null>('amount_cents').as('total'))
    .where('refund_of', '=', saleId)
    .where('voided_at', 'is', null)
    .executeTakeFirstOrThrow();
  return -Number(row.total ?? 0);
}

/**
 * Records a refund of a sale: a row of its own with a negative amount, the same customer and
 * product, and `refund_of` naming the sale. Refuses more than remains refundable, a voided sale and
 * a refund of a refund.
 */
export async function refundSale(db: Kysely<DB>, input: RefundInput, meta: WriteMeta): Promise<{ refund: SaleRow; sale: SaleRow; remainingCents: number }> {
  return db.transaction().execute(async (trx) => {
    // Locked: two refunds at once cannot both take what remains refundable.
    const sale = await forUpdate(trx, trx.selectFrom('sales').selectAll().where('id', '=', input.saleId)).executeTakeFirst();
    if (!sale) throw new NotFoundError(`no sale with id ${input.saleId}`, { hint: 'find ids with `crm sale list`' });
    if (sale.voided_at !== null) throw new ValidationError(`sale #${sale.id} is voided; there is nothing to refund`);
    if (sale.refund_of !== null || sale.amount_cents < 0) {
      throw new ValidationError(`sale #${sale.id} is itself a refund${sale.refund_of !== null ? ` (of sale #${sale.refund_of})` : ''}`, {
        hint: sale.refund_of !== null ? `refund the sale instead: crm sale refund ${sale.refund_of}` : undefined,
      });
    }
    const remaining = sale.amount_cents - (await refundedCents(trx, sale.id));
    if (remaining <= 0) throw new ValidationError(`sale #${sale.id} is already fully refunded`);
    const amount = input.amountCents ?? remaining;
    if (amount > remaining) {
      throw new ValidationError(`a refund of ${centsToDecimal(amount)} is more than the ${centsToDecimal(remaining)} that remains refundable of sale #${sale.id}`);
    }
    const row = await trx
      .insertInto('sales')
      .values({
        customer_id: sale.customer_id,
        product: sale.product,
        // Units come back with a full refund; a partial one returns money, not a number of units.
        quantity: amount === sale.amount_cents ? -sale.quantity : 0,
        amount_cents: -amount,
        sold_on: input.refundedOn,
        note: input.reason,
        order_id: sale.order_id,
        sku: sale.sku,
        refund_of: sale.id,
        created_at: meta.now.toISOString(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'sale.refund',
      entity: 'sale',
      entityId: row.id,
      customerId: sale.customer_id,
      summary: `refunded ${centsToDecimal(amount)} of ${describeSale(sale)}${input.reason ? `: ${input.reason}` : ''}`,
    });
    await audit.inserted('sales', row.id, row);
    return { refund: row, sale, remainingCents: remaining - amount };
  });
}

export interface SaleFilter {
  customer?: string | undefined;
  product?: string | undefined;
  /** Inclusive first day. */
  from?: string | undefined;
  /** Inclusive last day. */
  to?: string | undefined;
  includeVoided?: boolean;
  limit?: number | undefined;
}

/** Matching sales, oldest first, streamed (a list of a million sales never sits in memory). */
export async function listSales(db: Db, filter: SaleFilter): Promise<AsyncIterable<SaleView>> {
  let query = db
    .selectFrom('sales as s')
    .leftJoin('customers as c', 'c.id', 's.customer_id')
    .select([
      's.id',
      's.sold_on',
      's.sold_at',
      's.customer_id',
      sql<string | null>`${sql.raw(customerLabelSql('c'))}`.as('customer'),
      's.product',
      's.quantity',
      's.amount_cents as amount',
      's.note',
      's.deal_id',
      's.voided_at',
      's.void_reason',
    ]);
  if (filter.customer !== undefined) {
    const customer = await resolveCustomer(db, filter.customer);
    query = query.where('s.customer_id', '=', customer.id);
  }
  if (filter.product !== undefined) query = query.where((eb) => eb(eb.fn('lower', ['s.product']), '=', filter.product!.toLowerCase()));
  if (filter.from !== undefined) query = query.where('s.sold_on', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('s.sold_on', '<=', filter.to);
  if (!filter.includeVoided) query = query.where('s.voided_at', 'is', null);
  query = query.orderBy('s.sold_on').orderBy('s.id');
  if (filter.limit !== undefined) query = query.limit(filter.limit);
  return query.stream();
}

export type SaleDetail = SaleView & {
  external_id: string | null;
  order_id: string | null;
  sku: string | null;
  unit_price: number | null;
  refund_of: number | null;
  created_at: string;
};

/** One sale with everything crm keeps about it, and the refunds recorded against it (oldest first). */
export async function showSale(db: Db, id: number): Promise<{ sale: SaleDetail; refunds: SaleDetail[] }> {
  const query = db
    .selectFrom('sales as s')
    .leftJoin('customers as c', 'c.id', 's.customer_id')
    .select([
      's.id',
      's.sold_on',
      's.sold_at',
      's.customer_id',
      sql<string | null>`${sql.raw(customerLabelSql('c'))}`.as('customer'),
      's.product',
      's.quantity',
      's.amount_cents as amount',
      's.note',
      's.deal_id',
      's.voided_at',
      's.void_reason',
      's.external_id',
      's.order_id',
      's.sku',
      's.unit_price_cents as unit_price',
      's.refund_of',
      's.created_at',
    ]);
  const sale = await query.where('s.id', '=', id).executeTakeFirst();
  if (!sale) throw new NotFoundError(`no sale with id ${id}`, { hint: 'find ids with `crm sale list`' });
  const refunds = await query.where('s.refund_of', '=', id).orderBy('s.sold_on').orderBy('s.id').execute();
  return { sale, refunds };
}

export async function voidSale(db: Kysely<DB>, id: number, reason: string | null, meta: WriteMeta): Promise<SaleRow> {
  return db.transaction().execute(async (trx) => {
    const before = await forUpdate(trx, trx.selectFrom('sales').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!before) throw new NotFoundError(`no sale with id ${id}`, { hint: 'find ids with `crm sale list`' });
    if (before.voided_at !== null) {
      throw new ValidationError(`sale #${id} was already voided on ${localDay(new Date(before.voided_at))}${before.void_reason ? ` (${before.void_reason})` : ''}`);
    }
    const refunds = await trx.selectFrom('sales').select('id').where('refund_of', '=', id).where('voided_at', 'is', null).orderBy('id').execute();
    if (refunds.length > 0) {
      const ids = refunds.map((r) => r.id);
      throw new ValidationError(`sale #${id} has refunds (${ids.map((r) => `#${r}`).join(', ')})`, {
        hint: `void the refunds first: ${ids.map((r) => `crm sale void ${r}`).join('; ')}`,
      });
    }
    const deal = await trx.selectFrom('deals').select(['id', 'stage']).where('won_sale_id', '=', id).executeTakeFirst();
    if (deal && deal.stage === 'won') {
      throw new ValidationError(`sale #${id} was recorded by winning deal #${deal.id}`, {
        hint: `reopen the deal instead: crm deal move ${deal.id} negotiation --reopen --reason "…" (that voids the sale)`,
      });
    }
    const after = await trx
      .updateTable('sales')
      .set({ voided_at: meta.now.toISOString(), void_reason: reason })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'sale.void',
      entity: 'sale',
      entityId: id,
      customerId: before.customer_id,
      summary: `voided ${describeSale(before)}${reason ? `: ${reason}` : ''}`,
    });
    await audit.updated('sales', id, { voided_at: before.voided_at, void_reason: before.void_reason }, { voided_at: after.voided_at, void_reason: after.void_reason });
    return after;
  });
}

export interface CustomerSalesTotals {
  orders: number;
  /** Cents. */
  totalSpent: number;
  lastPurchase: string | null;
}

/** A customer's totals over live sales, for `customer show` and anything else that needs them. */
export async function customerSalesTotals(db: Db, customerId: number): Promise<CustomerSalesTotals> {
  const row = await db
    .selectFrom('sales')
    .select((eb) => [eb.fn.countAll<number>().as('orders'), eb.fn.sum<number | null>('amount_cents').as('total'), eb.fn.max('sold_on').as('last')])
    .where('customer_id', '=', customerId)
    .where('voided_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { orders: Number(row.orders), totalSpent: Number(row.total ?? 0), lastPurchase: row.last ?? null };
}
