// `crm customer risk`, `crm report risk`, churn_risk in segments and the agenda's at-risk section,
// on a shop generated with a known mechanism (test/helpers/churn-shop.ts) and imported with
// `crm import` as a user would. Expected figures come from the generator's own records.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { generateShop, type Shop } from '../helpers/churn-shop.js';
import { documentedReportShapes, printedShape } from '../helpers/readme-shapes.js';

const TODAY = '2025-06-01';
const env = { CRM_NOW: `${TODAY}T09:00:00Z` };
const DAY_MS = 86_400_000;
const daysBetween = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / DAY_MS);

interface RiskJson {
  backtest: Record<string, number | string>;
  customers: Array<Record<string, unknown> & { id: number; email: string; probability: number; spend_12m_cents: number; revenue_at_risk_cents: number }>;
}

/**
 * Lets the test worker's event loop run between the synchronous runs of crm, so its reports to
 * vitest are not held up for the length of a whole test on a busy machine.
 */
const pause = () => new Promise((resolve) => setTimeout(resolve, 0));
/** Long tests: a dozen runs of crm each, on machines shared with other work. */
const LONG = 240_000;

function importShop(box: Sandbox, shop: Shop): void {
  for (const kind of ['customers', 'sales', 'tickets', 'activities'] as const) {
    if (shop.csv[kind].trim().split('\n').length < 2) continue;
    const file = join(box.dir, `${kind}.csv`);
    writeFileSync(file, shop.csv[kind]);
    box.ok(['import', kind, file], { env });
  }
}

/** A sandbox holding a copy of `from`'s database (file copy or PostgreSQL template), so a test may write to it. */
const copyOf = (from: Sandbox): Sandbox => from.clone();

const risk = (box: Sandbox, ...args: string[]): RiskJson => JSON.parse(box.ok(['customer', 'risk', '--format', 'json', ...args], { env }));

describe('crm customer risk on a shop where customers leave by a known mechanism', () => {
  let shop: Shop;
  let box: Sandbox;
  let result: RiskJson;

  beforeAll(async () => {
    await pause();
    shop = generateShop({ seed: 11, customers: 300, from: '2023-01-01', to: TODAY });
    box = sandbox();
    importShop(box, shop);
    await pause();
    result = risk(box, '--explain');
  }, LONG);
  afterAll(() => box?.cleanup());

  it('backtests with an AUC of at least 0.80, better than recency alone', () => {
    const b = result.backtest;
    expect(b.as_of).toBe(TODAY);
    expect(b.horizon_days).toBe(90);
    expect(b.trained_until).toBe('2025-03-03');
    expect(b.auc as number).toBeGreaterThanOrEqual(0.8);
    expect(b.auc as number).toBeGreaterThan(b.baseline_auc as number);
    expect(b.brier as number).toBeLessThan(b.baseline_brier as number);
    // What happened: who had bought by the backtest day, and who of them did not buy after it.
    const earlier = shop.customers.filter((c) => c.sales[0]!.day <= '2025-03-03');
    expect(b.backtest_customers).toBe(earlier.length);
    expect(b.backtest_stopped).toBe(earlier.filter((c) => !c.sales.some((s) => s.day > '2025-03-03' && s.day <= TODAY)).length);
  });

  it('ranks the customers the generator made leave at the top', () => {
    const leaver = new Map(shop.customers.map((c) => [c.email, c.leaver]));
    const byRisk = [...result.customers].sort((a, b) => b.probability - a.probability);
    const leavers = shop.customers.filter((c) => c.leaver).length;
    // The top third of the leavers' number are all leavers, and almost every leaver is above every stayer.
    expect(byRisk.slice(0, Math.floor(leavers / 3)).every((r) => leaver.get(r.email))).toBe(true);
    const top = byRisk.slice(0, leavers).filter((r) => leaver.get(r.email)).length;
    expect(top / leavers).toBeGreaterThan(0.85);
  });

  it('lists every customer who has bought, sorted by revenue at risk = probability × 12-month spend', () => {
    expect(result.customers).toHaveLength(shop.customers.length);
    for (let i = 1; i < result.customers.length; i++) {
      expect(result.customers[i - 1]!.revenue_at_risk_cents).toBeGreaterThanOrEqual(result.customers[i]!.revenue_at_risk_cents);
    }
    const byEmail = new Map(shop.customers.map((c) => [c.email, c]));
    for (const row of result.customers) {
      const c = byEmail.get(row.email)!;
      const spend = c.sales.filter((s) => daysBetween(s.day, TODAY) < 365).reduce((sum, s) => sum + s.cents, 0);
      expect(row.spend_12m_cents).toBe(spend);
      expect(row.spend_12m).toBe((spend / 100).toFixed(2));
      expect(Math.abs(row.revenue_at_risk_cents - row.probability * spend)).toBeLessThanOrEqual(spend * 0.00005 + 1);
      expect(row.revenue_at_risk).toBe((row.revenue_at_risk_cents / 100).toFixed(2));
      const last = c.sales.at(-1)!.day;
      expect(row.last_purchase).toBe(last);
      expect(row.days_since).toBe(daysBetween(last, TODAY));
      expect(row.probability).toBeGreaterThanOrEqual(0);
      expect(row.probability).toBeLessThanOrEqual(1);
    }
  });

  it('--explain gives the reasons in words and a next action drawn from them', () => {
    const tickets = shop.csv.tickets.split('\n').slice(1).filter(Boolean).map((line) => line.split(','));
    const openTicket = new Set(tickets.filter((t) => t[6] === 'open').map((t) => t[1]));
    const withOpen = result.customers.filter((r) => r.probability > 0.7 && openTicket.has(r.email) && String(r.reasons).includes('open ticket'));
    expect(withOpen.length).toBeGreaterThan(5);
    for (const r of withOpen) expect(r.action).toBe('fix their open ticket');
    const lowRating = result.customers.filter((r) => /last rating [12]\/5/.test(String(r.reasons)));
    expect(lowRating.length).toBeGreaterThan(5);
    for (const r of result.customers) {
      const gap = /no purchase for (\d+) days, ([\d.]+)× their usual gap/.exec(String(r.reasons));
      if (!gap) continue;
      expect(Number(gap[1])).toBe(r.days_since);
      // The ratio to the median gap, rounded (the table's usual gap is rounded to whole days).
      const ratio = Number(r.days_since) / Number(r.usual_gap_days);
      expect(Math.abs(Number(gap[2]) - ratio)).toBeLessThanOrEqual(0.1 * ratio + 0.1);
    }
  });

  it('prints the backtest with a table, and on stderr beside csv rows', async () => {
    await pause();
    const table = box.run(['customer', 'risk', '--limit', '3'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Churn risk as of 2025-06-01, horizon 90 days: backtest');
    expect(table.stdout).toMatch(/AUC\s+[01]\.\d{3}\n/);
    expect(table.stdout).toMatch(/Recency-only AUC\s+[01]\.\d{3}\n/);
    expect(table.stdout).toContain(`(top 3 of ${shop.customers.length})`);
    expect(table.stdout).not.toContain('\x1b[');
    const csv = box.run(['customer', 'risk', '--limit', '2', '--format', 'csv'], { env });
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,name,email,probability,spend_12m,revenue_at_risk,last_purchase,days_since,usual_gap_days');
    expect(lines).toHaveLength(3);
    expect(lines[1]!.split(',')[0]).toBe(String(result.customers[0]!.id));
    expect(csv.stderr).toMatch(/^backtest: trained until 2025-03-03, scored against the 90 days to 2025-06-01: AUC [01]\.\d{3}, Brier [01]\.\d{3} \(recency only: AUC [01]\.\d{3}, Brier [01]\.\d{3}\)/);
    const md = box.ok(['customer', 'risk', '--limit', '1', '--format', 'md', '--output', 'risk.md'], { env });
    expect(md).toBe('');
    expect(readFileSync(join(box.dir, 'risk.md'), 'utf8')).toMatch(/^## Churn risk as of 2025-06-01/);
  }, LONG);

  it('gives the same scores for the same data and day, and --segment and --limit narrow the list', async () => {
    const copy = copyOf(box);
    try {
      const again = risk(copy, '--explain');
      expect(again).toEqual(result);
      await pause();
      copy.ok(['segment', 'create', 'ones-and-twos', '--where', 'name ~ "Shopper 1" or name ~ "Shopper 2"'], { env });
      const members = new Set(shop.customers.filter((c) => /^Shopper [12]/.test(`Shopper ${c.id}`)).map((c) => c.email));
      const narrowed = risk(copy, '--segment', 'ones-and-twos', '--limit', '5', '--explain');
      expect(narrowed.customers.map((r) => r.email)).toEqual(result.customers.filter((r) => members.has(r.email)).slice(0, 5).map((r) => r.email));
      // The backtest is the shop's; only the count of customers listed changes.
      expect(narrowed.backtest).toEqual({ ...result.backtest, scored: members.size });
      await pause();
      const unknown = copy.run(['customer', 'risk', '--segment', 'nope'], { env });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('error: no segment named "nope"');
    } finally {
      copy.cleanup();
    }
  }, LONG);

  it('as of an earlier day, later sales, tickets and contacts do not move the scores', async () => {
    const copy = copyOf(box);
    try {
      const before = risk(copy, '--as-of', '2025-03-01', '--horizon', '60d', '--explain');
      const targets = before.customers.slice(0, 20).map((r) => r.email);
      const file = (name: string, text: string) => {
        writeFileSync(join(copy.dir, name), text);
        return join(copy.dir, name);
      };
      copy.ok(['import', 'sales', file('later-sales.csv', ['customer,product,amount,date', ...targets.map((e, i) => `${e},Tea,${100 + i},2025-03-${String(2 + (i % 20)).padStart(2, '0')}`)].join('\n'))], { env });
      copy.ok(['import', 'tickets', file('later-tickets.csv', ['customer,subject,status,opened,resolved,score', ...targets.map((e) => `${e},Again,resolved,2025-03-05 10:00,2025-03-06 10:00,1`)].join('\n'))], { env });
      copy.ok(['import', 'activities', file('later-calls.csv', ['customer,type,at,summary', ...targets.map((e) => `${e},call,2025-03-02 00:30,Called`)].join('\n'))], { env });
      copy.ok(['ticket', 'open', '--customer', targets[0]!, '--subject', 'Today'], { env });
      await pause();
      const after = risk(copy, '--as-of', '2025-03-01', '--horizon', '60d', '--explain');
      expect(after).toEqual(before);
      // …while as of today they do count.
      await pause();
      expect(risk(copy, '--horizon', '60d').customers).not.toEqual(risk(box, '--horizon', '60d').customers);
    } finally {
      copy.cleanup();
    }
  }, LONG);

  it('a customer who bought today is listed as 0 days since, without a purchase reason', async () => {
    await pause();
    const copy = copyOf(box);
    try {
      const target = result.customers.find((r) => Number(r.days_since) > 100)!;
      copy.ok(['sale', 'record', '--customer', target.email, '--product', 'Tea', '--amount', '250'], { env });
      const row = risk(copy, '--explain').customers.find((r) => r.email === target.email)!;
      expect(row.last_purchase).toBe(TODAY);
      expect(row.days_since).toBe(0);
      expect(String(row.reasons)).not.toContain('no purchase');
      // Today's sale counts in the 12-month spend (a long-gone customer coming back may still be at
      // risk: their gaps have grown).
      expect(row.spend_12m_cents).toBe(target.spend_12m_cents + 25_000);
    } finally {
      copy.cleanup();
    }
  }, LONG);

  it('--save stores every score (audited, undoable); segments read churn_risk and the agenda lists who to call', async () => {
    const copy = copyOf(box);
    try {
      const saved = copy.run(['customer', 'risk', '--save', '--limit', '1', '--format', 'csv'], { env });
      expect(saved.code).toBe(0);
      expect(saved.stderr).toContain(`saved the scores of ${shop.customers.length} customers`);
      const rows = copy.query<{ customer_id: number; probability: number; spend_12m_cents: number; as_of: string; horizon_days: number; saved_at: string }>('SELECT * FROM risk_scores ORDER BY customer_id');
      expect(rows).toHaveLength(shop.customers.length);
      expect(rows.every((r) => r.as_of === TODAY && r.horizon_days === 90 && r.saved_at === '2025-06-01T09:00:00.000Z')).toBe(true);
      const probability = new Map(result.customers.map((r) => [r.id, r.probability]));
      for (const r of rows) expect(r.probability).toBeCloseTo(probability.get(r.customer_id)!, 4);
      const [entry] = copy.query<{ id: number; action: string }>("SELECT id, action FROM audit_log WHERE action = 'customer.risk.save'");
      expect(entry).toBeDefined();

      // churn_risk in a segment: the saved probability.
      await pause();
      copy.ok(['segment', 'create', 'slipping', '--where', 'churn_risk > 0.7 and total_spent > 1000'], { env });
      const members = copy.ok(['segment', 'show', 'slipping', '--format', 'json'], { env });
      const expected = result.customers.filter((r) => r.probability > 0.7 && shop.customers.find((c) => c.email === r.email)!.sales.reduce((s, x) => s + x.cents, 0) > 100_000);
      expect((JSON.parse(members) as Array<{ id: number }>).map((m) => m.id).sort((a, b) => a - b)).toEqual(expected.map((r) => r.id).sort((a, b) => a - b));

      // The agenda: high risk, spend at risk, nobody in touch for 30 days; biggest revenue at risk first.
      const called = result.customers.find((r) => r.probability >= 0.7 && r.revenue_at_risk_cents > 0)!;
      copy.ok(['activity', 'add', called.email, '--type', 'call', '--summary', 'Checked in', '--at', '2025-05-20 10:00'], { env });
      const agenda = JSON.parse(copy.ok(['agenda', '--format', 'json'], { env }));
      const lastContact = new Map<string, string>();
      for (const line of shop.csv.activities.split('\n').slice(1).filter(Boolean)) {
        const [email, , at] = line.split(',');
        if (!lastContact.has(email!) || lastContact.get(email!)! < at!) lastContact.set(email!, at!);
      }
      const quiet = result.customers.filter(
        (r) => r.email !== called.email && r.probability >= 0.7 && r.revenue_at_risk_cents > 0 && !(lastContact.get(r.email) && daysBetween(lastContact.get(r.email)!.slice(0, 10), TODAY) <= 30),
      );
      expect(agenda.agenda.at_risk).toBe(quiet.length);
      expect(agenda.at_risk.map((r: { id: number }) => r.id)).toEqual(quiet.slice(0, 10).map((r) => r.id));
      for (const r of agenda.at_risk) expect(['call', 'offer', 'fix their open ticket']).toContain(r.action);

      // Undo removes the saved scores again.
      await pause();
      copy.ok(['undo', String(entry!.id), '--yes'], { env });
      expect(copy.query('SELECT * FROM risk_scores')).toEqual([]);
    } finally {
      copy.cleanup();
    }
  }, LONG);

  it('customer rm and merge take saved scores along, and undo brings them back', async () => {
    const copy = copyOf(box);
    try {
      copy.ok(['customer', 'risk', '--save', '--limit', '1', '--format', 'csv'], { env });
      const scores = () => copy.query<{ id: number; customer_id: number }>('SELECT id, customer_id FROM risk_scores ORDER BY id');
      const before = scores();
      const [a, b, c] = result.customers.slice(0, 3).map((r) => r.id);
      await pause();
      copy.ok(['customer', 'rm', String(a), '--yes'], { env });
      copy.ok(['customer', 'merge', String(b), String(c), '--yes'], { env });
      expect(scores().map((s) => s.customer_id)).toEqual(before.map((s) => s.customer_id).filter((id) => id !== a && id !== c));
      const entries = copy.query<{ id: number }>("SELECT id FROM audit_log WHERE action IN ('customer.rm', 'customer.merge') ORDER BY id DESC");
      await pause();
      for (const entry of entries) copy.ok(['undo', String(entry.id), '--yes'], { env });
      expect(scores()).toEqual(before);
    } finally {
      copy.cleanup();
    }
  }, LONG);

  it('crm report risk: customers per band add up to everyone, with revenue at risk in total and by segment', async () => {
    await pause();
    const copy = copyOf(box);
    try {
      copy.ok(['segment', 'create', 'big', '--where', 'total_spent > 2000'], { env });
      const doc = JSON.parse(copy.ok(['report', 'risk', '--format', 'json'], { env }));
      expect(Object.keys(doc)).toEqual(['backtest', 'bands', 'total', 'segments']);
      // Sections and keys as the README's "Report JSON shapes" documents them.
      const documented = documentedReportShapes().get('risk')!;
      expect(printedShape(doc, documented)).toEqual(documented);
      expect(doc.backtest).toEqual(result.backtest);
      expect(doc.bands.map((b: { band: string }) => b.band)).toEqual(['very high', 'high', 'medium', 'low', 'very low']);
      const inBand = (from: number, to: number) => result.customers.filter((r) => r.probability >= from && r.probability < to);
      expect(doc.bands[0].customers).toBe(inBand(0.9, 2).length);
      expect(doc.bands[4].customers).toBe(inBand(0, 0.3).length);
      expect(doc.bands.reduce((s: number, b: { customers: number }) => s + b.customers, 0)).toBe(shop.customers.length);
      const total = result.customers.reduce((s, r) => s + r.revenue_at_risk_cents, 0);
      expect(doc.total).toMatchObject({ customers: shop.customers.length, revenue_at_risk_cents: total, revenue_at_risk: (total / 100).toFixed(2) });
      const big = result.customers.filter((r) => shop.customers.find((c) => c.email === r.email)!.sales.reduce((s, x) => s + x.cents, 0) > 200_000);
      expect(doc.segments).toEqual([
        expect.objectContaining({ segment: 'big', customers: big.length, revenue_at_risk_cents: big.reduce((s, r) => s + r.revenue_at_risk_cents, 0) }),
      ]);
    } finally {
      copy.cleanup();
    }
  }, LONG);
});

describe('crm customer risk refuses what it cannot learn from', () => {
  const cases: Array<{ name: string; setup: (box: Sandbox) => void; args: string[]; code: number; error: RegExp }> = [
    { name: 'no sales at all', setup: (b) => b.ok(['customer', 'add', '--name', 'Ann'], { env }), args: [], code: 1, error: /^error: no purchases up to 2025-06-01: there is no history to learn from\n/ },
    {
      name: 'an as-of day before the first sale',
      setup: (b) => importShop(b, generateShop({ seed: 3, customers: 60, from: '2023-01-01', to: TODAY })),
      args: ['--as-of', '2022-12-01'],
      code: 1,
      error: /^error: no purchases up to 2022-12-01/,
    },
    {
      name: 'a history shorter than two horizons',
      setup: (b) => importShop(b, generateShop({ seed: 3, customers: 60, from: '2025-01-01', to: TODAY })),
      args: ['--horizon', '90d'],
      code: 1,
      error: /^error: the history is shorter than two horizons: the first purchase is on 2025-0[12]-\d\d, and a 90-day horizon as of 2025-06-01 needs purchases from 2024-12-03 or earlier\n/,
    },
    {
      name: 'one customer',
      setup: (b) => importShop(b, generateShop({ seed: 4, customers: 1, from: '2023-01-01', to: TODAY, leaverShare: 0 })),
      args: [],
      code: 1,
      error: /^error: too few customers to learn from: 1 had bought by 2025-03-03 \(at least 20 are needed\)\n/,
    },
    {
      name: 'every customer gone',
      setup: (b) => importShop(b, generateShop({ seed: 5, customers: 80, from: '2022-01-01', to: '2024-06-01' })),
      args: [],
      code: 1,
      error: /^error: too few customers who kept buying to learn from: 0 /,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: exit ${c.code}, the reason named, nothing changed`, async () => {
      await pause();
      const box = sandbox();
      try {
        c.setup(box);
        const before = box.dump();
        const result = box.run(['customer', 'risk', '--save', ...c.args], { env });
        expect(result.stderr).toMatch(c.error);
        expect(result.code).toBe(c.code);
        expect(result.stdout).toBe('');
        expect(box.dump()).toBe(before);
        expect(box.run(['report', 'risk', ...c.args], { env }).code).toBe(c.code);
      } finally {
        box.cleanup();
      }
    }, LONG);
  }

  it.each([['0'], ['0d'], ['abc'], ['-5d'], ['90x'], ['']])('--horizon %j is a usage error (exit 2)', (horizon) => {
    const box = sandbox();
    try {
      box.ok(['init'], { env });
      const before = box.dump();
      const result = box.run(['customer', 'risk', '--horizon', horizon], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^error: --horizon /);
      expect(box.dump()).toBe(before);
      expect(box.run(['report', 'risk', '--horizon', horizon], { env }).code).toBe(2);
    } finally {
      box.cleanup();
    }
  });
});
