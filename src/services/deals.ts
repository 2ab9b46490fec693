// The deals pipeline: add, move between stages (each move kept in deal_stage_history), list.
// Winning a deal records its sale exactly once (deals.won_sale_id); reopening a won deal voids
// that sale, so totals never count a deal twice. Every write is audited in its transaction.
import { sql, type Kysely, type Transaction } from 'kysely';
import { customerLabelSql } from '../db/customer-label.js';
import { forUpdate } from '../db/row-locks.js';
import type { DB, DealRow } from '../db/schema.js';
import { OPEN_STAGES, effectiveProbability, isClosed, weightedCents, type Stage } from '../domain/deals.js';
import { NotFoundError, UsageError, ValidationError } from '../domain/errors.js';
import { localDay } from '../domain/dates.js';
import { centsToDecimal } from '../domain/money.js';
import { SETTINGS } from '../domain/config.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { describeCustomer, resolveCustomer } from './customers.js';

type Db = Kysely<DB> | Transaction<DB>;

/** Default win probability (%) per open stage, from config (`probability.<stage>`). */
export async function probabilityDefaults(db: Db): Promise<Record<string, number>> {
  const stored = new Map(
    (await db.selectFrom('config').select(['key', 'value']).where('key', 'like', 'probability.%').execute()).map((r) => [r.key, r.value]),
  );
  const defaults: Record<string, number> = {};
  for (const stage of OPEN_STAGES) {
    const key = `probability.${stage}`;
    defaults[stage] = Number(stored.get(key) ?? SETTINGS.find((s) => s.key === key)?.default ?? 0);
  }
  return defaults;
}

export function describeDeal(d: Pick<DealRow, 'id' | 'title' | 'value_cents'>): string {
  return `#${d.id} ${d.title} (${centsToDecimal(d.value_cents)})`;
}

export interface DealInput {
  customer: string;
  title: string;
  valueCents: number;
  stage: Stage;
  /** Local day. */
  closeDate: string | null;
  /** Own probability (%), or null for the stage default. */
  probability: number | null;
}

export async function addDeal(db: Kysely<DB>, input: DealInput, meta: WriteMeta): Promise<{ deal: DealRow; customer: string; saleId: number | null }> {
  if (isClosed(input.stage)) {
    throw new UsageError(`a new deal cannot start as ${input.stage}`, { hint: `add it in an open stage, then \`crm deal move ID ${input.stage}\`` });
  }
  return db.transaction().execute(async (trx) => {
    const customer = await resolveCustomer(trx, input.customer);
    const at = meta.now.toISOString();
    const deal = await trx
      .insertInto('deals')
      .values({
        customer_id: customer.id,
        title: input.title,
        value_cents: input.valueCents,
        stage: input.stage,
        probability: input.probability,
        close_date: input.closeDate,
        created_at: at,
        updated_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, { action: 'deal.add', entity: 'deal', entityId: deal.id, customerId: customer.id, summary: describeDeal(deal) });
    await audit.inserted('deals', deal.id, deal);
    const history = await trx
      .insertInto('deal_stage_history')
      .values({ deal_id: deal.id, from_stage: null, to_stage: input.stage, at, reason: null })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit.inserted('deal_stage_history', history.id, history);
    return { deal, customer: describeCustomer(customer), saleId: null };
  });
}

export interface MoveInput {
  id: number;
  stage: Stage;
  reason: string | null;
  reopen: boolean;
  /** A new own probability, or undefined to fall back to the new stage's default. */
  probability?: number | undefined;
}

export interface MoveResult {
  deal: DealRow;
  from: Stage;
  /** False when the deal was already in that stage: nothing changed. */
  moved: boolean;
  saleId: number | null;
  voidedSaleId: number | null;
}

export async function moveDeal(db: Kysely<DB>, input: MoveInput, meta: WriteMeta): Promise<MoveResult> {
  return db.transaction().execute(async (trx) => {
    // Locked until commit: two people winning the deal at once record one sale (the second one waits,
    // then finds it won already).
    const before = await forUpdate(trx, trx.selectFrom('deals').selectAll().where('id', '=', input.id)).executeTakeFirst();
    if (!before) throw new NotFoundError(`no deal with id ${input.id}`, { hint: 'find ids with `crm deal list`' });
    const from = before.stage;
    if (from === input.stage) return { deal: before, from, moved: false, saleId: before.won_sale_id, voidedSaleId: null };
    if (isClosed(from) && !input.reopen) {
      throw new ValidationError(`deal #${before.id} is ${from}; moving it to ${input.stage} reopens it`, {
        hint: `add --reopen${from === 'won' ? ' (its sale is then voided)' : ''}`,
      });
    }
    if (input.reopen && !isClosed(from)) {
      throw new ValidationError(`deal #${before.id} is ${from}, not won or lost: there is nothing to reopen`, { hint: 'leave out --reopen' });
    }
    if (input.stage === 'lost' && !input.reason) throw new UsageError('moving a deal to lost needs --reason');
    const at = meta.now.toISOString();
    const audit = await beginAudit(trx, meta, {
      action: 'deal.move',
      entity: 'deal',
      entityId: before.id,
      customerId: before.customer_id,
      summary: `${describeDeal(before)}: ${from} → ${input.stage}${input.reason ? ` (${input.reason})` : ''}`,
    });

    let voidedSaleId: number | null = null;
    if (from === 'won' && before.won_sale_id !== null) {
      const sale = await trx.selectFrom('sales').selectAll().where('id', '=', before.won_sale_id).executeTakeFirst();
      if (sale && sale.voided_at === null) {
        const reason = `deal #${before.id} reopened${input.reason ? `: ${input.reason}` : ''}`;
        await trx.updateTable('sales').set({ voided_at: at, void_reason: reason }).where('id', '=', sale.id).execute();
        await audit.updated('sales', sale.id, { voided_at: null, void_reason: sale.void_reason }, { voided_at: at, void_reason: reason });
        voidedSaleId = sale.id;
      }
    }

    let saleId: number | null = before.won_sale_id;
    if (input.stage === 'won') {
      const existing = saleId === null ? undefined : await trx.selectFrom('sales').select(['id', 'voided_at']).where('id', '=', saleId).executeTakeFirst();
      if (!existing || existing.voided_at !== null) {
        const sale = await insertSaleForDeal(trx, before, meta);
        await audit.inserted('sales', sale.id, sale);
        saleId = sale.id;
      }
    }

    const after = await trx
      .updateTable('deals')
      .set({
        stage: input.stage,
        // A closed deal's probability is fixed (won 100, lost 0); an open stage takes the given one or its default.
        probability: isClosed(input.stage) ? null : (input.probability ?? null),
        lost_reason: input.stage === 'lost' ? input.reason : null,
        won_sale_id: saleId,
        updated_at: at,
      })
      .where('id', '=', before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit.updated(
      'deals',
      before.id,
      { stage: before.stage, probability: before.probability, lost_reason: before.lost_reason, won_sale_id: before.won_sale_id, updated_at: before.updated_at },
      { stage: after.stage, probability: after.probability, lost_reason: after.lost_reason, won_sale_id: after.won_sale_id, updated_at: after.updated_at },
    );
    const history = await trx
      .insertInto('deal_stage_history')
      .values({ deal_id: before.id, from_stage: from, to_stage: input.stage, at, reason: input.reason })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit.inserted('deal_stage_history', history.id, history);
    return { deal: after, from, moved: true, saleId: input.stage === 'won' ? saleId : null, voidedSaleId };
  });
}

/** The sale a won deal records: its customer, title as product, value as amount, on the day it was won. */
async function insertSaleForDeal(trx: Transaction<DB>, deal: DealRow, meta: WriteMeta) {
  return trx
    .insertInto('sales')
    .values({
      customer_id: deal.customer_id,
      product: deal.title,
      quantity: 1,
      amount_cents: deal.value_cents,
      sold_on: localDay(meta.now),
      note: `won deal #${deal.id}`,
      deal_id: deal.id,
      created_at: meta.now.toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export type DealView = {
  id: number;
  customer_id: number;
  customer: string | null;
  title: string;
  stage: Stage;
  value: number;
  probability: number;
  weighted: number;
  close_date: string | null;
  lost_reason: string | null;
  won_sale_id: number | null;
  updated_at: string;
};

export async function listDeals(db: Db, filter: { stage?: Stage | undefined; customer?: string | undefined }): Promise<DealView[]> {
  let query = db
    .selectFrom('deals as d')
    .leftJoin('customers as c', 'c.id', 'd.customer_id')
    .select(['d.id', 'd.customer_id', sql<string | null>`${sql.raw(customerLabelSql('c'))}`.as('customer'), 'd.title', 'd.stage', 'd.value_cents', 'd.probability', 'd.close_date', 'd.lost_reason', 'd.won_sale_id', 'd.updated_at']);
  if (filter.stage) query = query.where('d.stage', '=', filter.stage);
  if (filter.customer !== undefined) {
    const customer = await resolveCustomer(db, filter.customer);
    query = query.where('d.customer_id', '=', customer.id);
  }
  const rows = await query.orderBy('d.id').execute();
  const defaults = await probabilityDefaults(db);
  return rows.map((r) => {
    const probability = effectiveProbability(r.stage, r.probability, defaults);
    return {
      id: r.id,
      customer_id: r.customer_id,
      customer: r.customer,
      title: r.title,
      stage: r.stage,
      value: r.value_cents,
      probability,
      weighted: weightedCents(r.value_cents, probability),
      close_date: r.close_date,
      lost_reason: r.lost_reason,
      won_sale_id: r.won_sale_id,
      updated_at: r.updated_at,
    };
  });
}

