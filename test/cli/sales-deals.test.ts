// `crm deal add|move|list` and `crm report pipeline`: stage history, default probabilities, won
// deals recording their sale exactly once, lost needing a reason, reopening, and as-of pipelines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const at = (iso: string) => ({ env: { CRM_NOW: iso } });

// The file tells one story (deals added, moved, won, lost, reopened). Each point of the story is a
// database built once here; a test reads the point it needs, or writes on its own copy (`clone`), so
// every test sees the same data whether it runs alone, in file order or shuffled.
let base: Sandbox; // two customers
let deals: Sandbox; // + four deals
let moved: Sandbox; // + deal 1 moved lead → qualified → proposal
let won: Sandbox; // + deal 1 won (twice)
let lost: Sandbox; // + deal 3 lost
const fixtures: Sandbox[] = [];
const owned: Sandbox[] = [];
/** A copy of `box` for a test that writes; removed after the file. */
const copyOf = (box: Sandbox) => {
  const copy = box.clone();
  owned.push(copy);
  return copy;
};

const addDeals = (box: Sandbox) => {
  box.ok(['deal', 'add', '--customer', 'li@example.com', '--title', 'Office tea', '--value', '10,000', '--close-date', '2025-05-15'], at('2025-03-01T09:00:00Z'));
  box.ok(['deal', 'add', '--customer', 'anna@example.com', '--title', 'Gift boxes', '--value', '3500', '--stage', 'proposal', '--probability', '60', '--close-date', '2025-04-30'], at('2025-03-01T09:00:00Z'));
  box.ok(['deal', 'add', '--customer', '2', '--title', 'Cups', '--value', '800'], at('2025-03-01T09:00:00Z'));
  box.ok(['deal', 'add', '--customer', '1', '--title', 'Teapots', '--value', '2000', '--stage', 'negotiation', '--close-date', '2025-05-02'], at('2025-03-02T09:00:00Z'));
};

beforeAll(() => {
  base = sandbox();
  base.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], at('2025-03-01T08:00:00Z'));
  base.ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.com'], at('2025-03-01T08:00:00Z'));
  deals = base.clone();
  addDeals(deals);
  moved = deals.clone();
  moved.ok(['deal', 'move', '1', 'qualified'], at('2025-03-05T09:00:00Z'));
  moved.ok(['deal', 'move', '1', 'proposal'], at('2025-03-07T09:00:00Z'));
  won = moved.clone();
  won.ok(['deal', 'move', '1', 'won'], at('2025-03-10T09:00:00Z'));
  won.ok(['deal', 'move', '1', 'won'], at('2025-03-11T09:00:00Z'));
  lost = won.clone();
  lost.ok(['deal', 'move', '3', 'lost', '--reason', 'too pricey'], at('2025-03-12T09:00:00Z'));
  fixtures.push(base, deals, moved, won, lost);
});
afterAll(() => {
  for (const box of [...fixtures, ...owned]) box.cleanup();
});

describe('deal add and list', () => {
  it('adds deals with stage-default or own probabilities and a first history entry', () => {
    const box = copyOf(base);
    expect(box.ok(['deal', 'add', '--customer', 'li@example.com', '--title', 'Office tea', '--value', '10,000', '--close-date', '2025-05-15'], at('2025-03-01T09:00:00Z'))).toBe('1\n');
    expect(box.ok(['deal', 'add', '--customer', 'anna@example.com', '--title', 'Gift boxes', '--value', '3500', '--stage', 'proposal', '--probability', '60', '--close-date', '2025-04-30'], at('2025-03-01T09:00:00Z'))).toBe('2\n');
    expect(box.ok(['deal', 'add', '--customer', '2', '--title', 'Cups', '--value', '800'], at('2025-03-01T09:00:00Z'))).toBe('3\n');
    expect(box.ok(['deal', 'add', '--customer', '1', '--title', 'Teapots', '--value', '2000', '--stage', 'negotiation', '--close-date', '2025-05-02'], at('2025-03-02T09:00:00Z'))).toBe('4\n');
    expect(box.query('SELECT deal_id, from_stage, to_stage, at FROM deal_stage_history ORDER BY id')).toEqual([
      { deal_id: 1, from_stage: null, to_stage: 'lead', at: '2025-03-01T09:00:00.000Z' },
      { deal_id: 2, from_stage: null, to_stage: 'proposal', at: '2025-03-01T09:00:00.000Z' },
      { deal_id: 3, from_stage: null, to_stage: 'lead', at: '2025-03-01T09:00:00.000Z' },
      { deal_id: 4, from_stage: null, to_stage: 'negotiation', at: '2025-03-02T09:00:00.000Z' },
    ]);
    const list = JSON.parse(box.ok(['deal', 'list', '--format', 'json'])) as { id: number; probability: number; weighted_cents: number }[];
    // Defaults: lead 10 %, negotiation 75 %; deal 2 has its own 60 %.
    expect(list.map((d) => [d.id, d.probability, d.weighted_cents])).toEqual([
      [1, 10, 100000],
      [2, 60, 210000],
      [3, 10, 8000],
      [4, 75, 150000],
    ]);
  });

  it('takes default probabilities from config', () => {
    const box = copyOf(deals);
    box.ok(['config', 'set', 'probability.lead', '20']);
    const list = JSON.parse(box.ok(['deal', 'list', '--stage', 'lead', '--format', 'json'])) as { id: number; probability: number }[];
    expect(list.map((d) => [d.id, d.probability])).toEqual([
      [1, 20],
      [3, 20],
    ]);
  });

  it('filters by customer', () => {
    const list = JSON.parse(deals.ok(['deal', 'list', '--customer', 'anna@example.com', '--format', 'json'])) as { id: number; title: string }[];
    expect(list.map((d) => [d.id, d.title])).toEqual([
      [2, 'Gift boxes'],
      [3, 'Cups'],
    ]);
  });

  it('rejects bad input, writing nothing', () => {
    const box = deals;
    const before = box.dump();
    const cases: [string[], number, RegExp][] = [
      [['--value', '12.345'], 2, /more than 2 decimals/],
      [['--value', '-5'], 2, /is negative/],
      [['--value', '100', '--stage', 'closing'], 2, /^error: --stage "closing" is not a deal stage$/m],
      [['--value', '100', '--stage', 'won'], 2, /cannot start as won/],
      [['--value', '100', '--probability', '101'], 2, /--probability/],
      [['--value', '100', '--close-date', '2025-02-30'], 2, /not a real calendar day/],
    ];
    for (const [flags, code, message] of cases) {
      const result = box.run(['deal', 'add', '--customer', '1', '--title', 'X', ...flags]);
      expect(result.code, flags.join(' ')).toBe(code);
      expect(result.stderr).toMatch(message);
    }
    expect(box.run(['deal', 'add', '--customer', 'nobody@example.com', '--title', 'X', '--value', '1']).code).toBe(1);
    expect(box.dump()).toBe(before);
  });
});

describe('deal move', () => {
  it('moves through stages, keeping the history', () => {
    const box = copyOf(deals);
    expect(box.run(['deal', 'move', '1', 'qualified'], at('2025-03-05T09:00:00Z')).code).toBe(0);
    expect(box.run(['deal', 'move', '1', 'proposal'], at('2025-03-07T09:00:00Z')).code).toBe(0);
    expect(box.query("SELECT from_stage, to_stage FROM deal_stage_history WHERE deal_id = 1 ORDER BY id")).toEqual([
      { from_stage: null, to_stage: 'lead' },
      { from_stage: 'lead', to_stage: 'qualified' },
      { from_stage: 'qualified', to_stage: 'proposal' },
    ]);
  });

  it('won records the sale exactly once, even when moved to won twice', () => {
    const box = copyOf(moved);
    const first = box.run(['deal', 'move', '1', 'won'], at('2025-03-10T09:00:00Z'));
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('recorded sale #1');
    const second = box.run(['deal', 'move', '1', 'won'], at('2025-03-11T09:00:00Z'));
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/already won; nothing changed/);
    expect(box.query('SELECT id, customer_id, product, amount_cents, sold_on, deal_id, voided_at FROM sales')).toEqual([
      { id: 1, customer_id: 1, product: 'Office tea', amount_cents: 1000000, sold_on: '2025-03-10', deal_id: 1, voided_at: null },
    ]);
    expect(box.query('SELECT stage, won_sale_id FROM deals WHERE id = 1')).toEqual([{ stage: 'won', won_sale_id: 1 }]);
    const audit = box.query<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action = 'deal.move' AND entity_id = 1");
    expect(audit[0]!.n).toBe(3);
  });

  it('lost needs --reason (exit 2); with one, it is kept', () => {
    const box = copyOf(won);
    const before = box.dump();
    const missing = box.run(['deal', 'move', '3', 'lost'], at('2025-03-12T09:00:00Z'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: missing required option --reason$/m);
    expect(box.dump()).toBe(before);
    expect(box.run(['deal', 'move', '3', 'lost', '--reason', 'too pricey'], at('2025-03-12T09:00:00Z')).code).toBe(0);
    expect(box.query('SELECT stage, lost_reason FROM deals WHERE id = 3')).toEqual([{ stage: 'lost', lost_reason: 'too pricey' }]);
  });

  it('refuses unknown stages (exit 2) and moves out of won or lost without --reopen (exit 1)', () => {
    const box = lost;
    const before = box.dump();
    const unknown = box.run(['deal', 'move', '2', 'closing']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('error: stage "closing" is not a deal stage\nhint: stages: lead, qualified, proposal, negotiation, won, lost\n');
    const outOfWon = box.run(['deal', 'move', '1', 'negotiation']);
    expect(outOfWon.code).toBe(1);
    expect(outOfWon.stderr).toMatch(/^error: deal #1 is won; moving it to negotiation reopens it\nhint: add --reopen/);
    const outOfLost = box.run(['deal', 'move', '3', 'lead']);
    expect(outOfLost.code).toBe(1);
    const notClosed = box.run(['deal', 'move', '2', 'negotiation', '--reopen']);
    expect(notClosed.code).toBe(1);
    expect(box.run(['deal', 'move', '99', 'won']).code).toBe(1);
    expect(box.dump()).toBe(before);
  });

  it('voiding the sale of a won deal is refused: reopen the deal instead', () => {
    const before = lost.dump();
    const result = lost.run(['sale', 'void', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/recorded by winning deal #1/);
    expect(lost.dump()).toBe(before);
  });
});

describe('report pipeline', () => {
  interface Pipeline {
    stages: { stage: string; deals: number; value_cents: number; weighted_cents: number; reached: number; conversion: number | null; avg_days: number | null }[];
    summary: { open_deals: number; open_value_cents: number; weighted_value_cents: number; won_deals: number; lost_deals: number; win_rate: number | null };
    close_months: { close_month: string; deals: number; value_cents: number; weighted_cents: number }[];
  }
  const pipeline = (...args: string[]) => JSON.parse(lost.ok(['report', 'pipeline', '--format', 'json', ...args])) as Pipeline;

  it('counts deals and value per stage, conversion, days in stage, win rate and weighted value by close month', () => {
    const p = pipeline();
    const stage = (name: string) => p.stages.find((s) => s.stage === name)!;
    // Now: 1 won (10,000), 2 proposal 60 % (3,500), 3 lost (800), 4 negotiation 75 % (2,000).
    expect(stage('proposal')).toMatchObject({ deals: 1, value_cents: 350000, weighted_cents: 210000 });
    expect(stage('negotiation')).toMatchObject({ deals: 1, value_cents: 200000, weighted_cents: 150000 });
    expect(stage('won')).toMatchObject({ deals: 1, value_cents: 1000000 });
    expect(stage('lost')).toMatchObject({ deals: 1, value_cents: 80000 });
    // Reached: lead all 4; qualified 1, 2, 4 (2 and 4 skipped it); proposal 1, 2, 4; negotiation 1, 4; won 1.
    expect(p.stages.map((s) => [s.stage, s.reached])).toEqual([
      ['lead', 4], ['qualified', 3], ['proposal', 3], ['negotiation', 2], ['won', 1], ['lost', 1],
    ]);
    expect(stage('lead').conversion).toBeCloseTo(3 / 4, 12);
    expect(stage('qualified').conversion).toBe(1);
    expect(stage('proposal').conversion).toBeCloseTo(2 / 3, 12);
    expect(stage('negotiation').conversion).toBe(0.5);
    // Deal 1: lead 4 days (1st→5th), qualified 2 days, proposal 3 days; deal 3: lead 11 days.
    expect(stage('lead').avg_days).toBe((4 + 11) / 2);
    expect(stage('qualified').avg_days).toBe(2);
    expect(stage('proposal').avg_days).toBe(3);
    expect(stage('negotiation').avg_days).toBeNull();
    expect(p.summary).toMatchObject({ open_deals: 2, open_value_cents: 550000, weighted_value_cents: 360000, won_deals: 1, lost_deals: 1, win_rate: 0.5 });
    expect(p.close_months).toEqual([
      { close_month: '2025-04', deals: 1, value: '3500.00', value_cents: 350000, weighted: '2100.00', weighted_cents: 210000 },
      { close_month: '2025-05', deals: 1, value: '2000.00', value_cents: 200000, weighted: '1500.00', weighted_cents: 150000 },
    ]);
  });

  it('--as-of replays the stage history: later moves are left out', () => {
    const p = pipeline('--as-of', '2025-03-06');
    // On 6 March: deal 1 qualified (default 25 %), 2 proposal, 3 lead, 4 negotiation.
    expect(p.stages.map((s) => [s.stage, s.deals])).toEqual([
      ['lead', 1], ['qualified', 1], ['proposal', 1], ['negotiation', 1], ['won', 0], ['lost', 0],
    ]);
    expect(p.summary).toMatchObject({ open_deals: 4, open_value_cents: 1630000, weighted_value_cents: 250000 + 210000 + 8000 + 150000, win_rate: null });
    const before = pipeline('--as-of', '2025-02-28');
    expect(before.summary.open_deals).toBe(0);
  });

  it('draws a bar column in tables only', () => {
    const table = lost.ok(['report', 'pipeline']);
    expect(table).toMatch(/│ won\s+│\s+1 │\s+10,000\.00 │.*█/);
    const csv = lost.ok(['report', 'pipeline', '--format', 'csv']);
    expect(csv.split('\r\n')[0]).toBe('stage,deals,value,weighted,reached,conversion,avg_days');
    expect(csv).not.toMatch(/█/);
  });
});

describe('reopening', () => {
  it('reopening a won deal voids its sale; winning it again records one new sale', () => {
    const box = copyOf(lost);
    const reopen = box.run(['deal', 'move', '1', 'negotiation', '--reopen', '--reason', 'scope changed'], at('2025-03-20T09:00:00Z'));
    expect(reopen.code).toBe(0);
    expect(reopen.stderr).toContain('voided sale #1');
    expect(box.query('SELECT voided_at, void_reason FROM sales WHERE id = 1')).toEqual([
      { voided_at: '2025-03-20T09:00:00.000Z', void_reason: 'deal #1 reopened: scope changed' },
    ]);
    expect(box.run(['deal', 'move', '1', 'won'], at('2025-03-25T09:00:00Z')).code).toBe(0);
    expect(box.query('SELECT id, amount_cents, sold_on, CASE WHEN voided_at IS NULL THEN 1 ELSE 0 END AS live FROM sales ORDER BY id')).toEqual([
      { id: 1, amount_cents: 1000000, sold_on: '2025-03-10', live: 0 },
      { id: 2, amount_cents: 1000000, sold_on: '2025-03-25', live: 1 },
    ]);
    expect(box.query('SELECT won_sale_id FROM deals WHERE id = 1')).toEqual([{ won_sale_id: 2 }]);
    // Revenue counts the deal once.
    const report = JSON.parse(box.ok(['report', 'sales', '--period', '2025-03', '--format', 'json'])) as { total: { revenue_cents: number } };
    expect(report.total.revenue_cents).toBe(1000000);
    // As recorded by 15 March the first sale was still live.
    const asOf = JSON.parse(box.ok(['report', 'sales', '--period', '2025-03', '--as-of', '2025-03-15', '--as-recorded', '--format', 'json'])) as { total: { revenue_cents: number; count: number } };
    expect(asOf.total).toMatchObject({ revenue_cents: 1000000, count: 1 });
  });

  it('a lost deal reopens with --reopen and loses its lost reason', () => {
    const box = copyOf(lost);
    expect(box.run(['deal', 'move', '3', 'qualified', '--reopen'], at('2025-03-26T09:00:00Z')).code).toBe(0);
    expect(box.query('SELECT stage, lost_reason FROM deals WHERE id = 3')).toEqual([{ stage: 'qualified', lost_reason: null }]);
  });
});
