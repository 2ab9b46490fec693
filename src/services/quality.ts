// The data section of `crm db check`: problems in the data itself (not the file) that a person can
// fix — missing or malformed contact details, likely duplicates, customers gone quiet for a year,
// rows whose parent is gone, tags nobody uses — each with a count and a hint.
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { sqliteOf } from '../db/connection.js';
import { addDays, localDay } from '../domain/dates.js';
import { parseEmail, parsePhone } from '../domain/validation.js';
import { findDuplicates } from './duplicates.js';

export interface QualityFinding {
  check: string;
  /** null when the check could not be read (a damaged file): the hint then says why. */
  count: number | null;
  hint: string;
}

/** Child rows and the parent they must point at. */
const PARENTS: readonly [string, string, string][] = [
  ['activities', 'customer_id', 'customers'],
  ['sales', 'customer_id', 'customers'],
  ['deals', 'customer_id', 'customers'],
  ['tickets', 'customer_id', 'customers'],
  ['tasks', 'customer_id', 'customers'],
  ['customer_tags', 'customer_id', 'customers'],
  ['customer_tags', 'tag_id', 'tags'],
  ['customer_fields', 'customer_id', 'customers'],
  ['activity_links', 'from_id', 'activities'],
  ['activity_links', 'to_id', 'activities'],
  ['deal_stage_history', 'deal_id', 'deals'],
  ['ticket_events', 'ticket_id', 'tickets'],
  ['ticket_ratings', 'ticket_id', 'tickets'],
];

const valid = (parse: (text: string) => unknown, text: string) => {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Runs one check; on a damaged file it fails alone and the others still run. */
async function tryCount(run: () => number | Promise<number>): Promise<number | Error> {
  try {
    return await run();
  } catch (error) {
    return error as Error;
  }
}

export async function dataQualityReport(db: Kysely<DB>, now: Date): Promise<QualityFinding[]> {
  const sqlite = sqliteOf(db);
  const count = (text: string, ...params: unknown[]) => (sqlite.prepare(text).pluck().get(...params) as number) ?? 0;

  const missing = await tryCount(() => count('SELECT count(*) FROM customers WHERE (email IS NULL OR email = \'\') AND (phone IS NULL OR phone = \'\')'));
  const badEmails = await tryCount(() => {
    let bad = 0;
    for (const email of sqlite.prepare("SELECT email FROM customers WHERE email IS NOT NULL AND email != ''").pluck().iterate() as Iterable<string>) {
      if (!valid((t) => parseEmail(t), email)) bad++;
    }
    return bad;
  });
  const badPhones = await tryCount(() => {
    let bad = 0;
    for (const phone of sqlite.prepare("SELECT phone FROM customers WHERE phone IS NOT NULL AND phone != ''").pluck().iterate() as Iterable<string>) {
      if (!valid((t) => parsePhone(t), phone)) bad++;
    }
    return bad;
  });
  const duplicates = await tryCount(async () => (await findDuplicates(db)).pairs.length);

  const cutoffDay = addDays(localDay(now), -365);
  const cutoff = new Date(now.getTime() - 365 * 86_400_000).toISOString();
  const quiet = await tryCount(() => count(
    `SELECT count(*) FROM customers c WHERE c.created_at < ?
       AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.customer_id = c.id AND a.at >= ?)
       AND NOT EXISTS (SELECT 1 FROM sales s WHERE s.customer_id = c.id AND s.voided_at IS NULL AND s.sold_on >= ?)`,
    cutoff,
    cutoff,
    cutoffDay,
  ));
  const orphans = await tryCount(() => {
    let total = 0;
    for (const [child, column, parent] of PARENTS) {
      total += count(`SELECT count(*) FROM ${child} x WHERE x.${column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE p.id = x.${column})`);
    }
    return total;
  });
  const unusedTags = await tryCount(() => count('SELECT count(*) FROM tags t WHERE NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tag_id = t.id)'));

  const finding = (check: string, result: number | Error, hint: string): QualityFinding =>
    result instanceof Error ? { check, count: null, hint: `not checked: ${result.message}` } : { check, count: result, hint };
  return [
    finding('customers without email or phone', missing, 'add a way to reach them: crm customer edit <customer> --email … --phone …'),
    finding('invalid email addresses', badEmails, 'find them with crm sql "SELECT id, name, email FROM customers" and fix with crm customer edit'),
    finding('invalid phone numbers', badPhones, 'phones need 5 to 20 digits; fix with crm customer edit <customer> --phone …'),
    finding('likely duplicate pairs', duplicates, 'review with crm customer duplicates, then crm customer merge <keep> <other>'),
    finding('customers without activity for a year', quiet, 'no activity or sale in 365 days: reach out, or tag them with crm customer edit --tag churned'),
    finding('orphaned rows', orphans, 'rows pointing at a customer, deal, ticket or activity that is gone; see crm db check integrity results'),
    finding('unused tags', unusedTags, 'tags no customer carries; harmless, they come back into use when tagged'),
  ];
}
