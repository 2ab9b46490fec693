// The data section of `crm db check`: problems in the data itself (not the file) that a person can
// fix — missing or malformed contact details, likely duplicates, customers gone quiet for a year,
// rows whose parent is gone, tags nobody uses — each with a count and a hint.
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { customerContacts, customersWithoutContact, orphanedRows, quietCustomers, unusedTags } from '../db/quality-counts.js';
import { addDays, localDay } from '../domain/dates.js';
import { parseEmail, parsePhone } from '../domain/validation.js';
import { findDuplicates } from './duplicates.js';

export interface QualityFinding {
  check: string;
  /** null when the check could not be read (a damaged file): the hint then says why. */
  count: number | null;
  hint: string;
}

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
  const missing = await tryCount(() => customersWithoutContact(db));
  const badEmails = await tryCount(async () => {
    let bad = 0;
    for await (const email of customerContacts(db, 'email')) if (!valid((t) => parseEmail(t), email)) bad++;
    return bad;
  });
  const badPhones = await tryCount(async () => {
    let bad = 0;
    for await (const phone of customerContacts(db, 'phone')) if (!valid((t) => parsePhone(t), phone)) bad++;
    return bad;
  });
  const duplicates = await tryCount(async () => (await findDuplicates(db)).pairs.length);

  const cutoffDay = addDays(localDay(now), -365);
  const cutoff = new Date(now.getTime() - 365 * 86_400_000).toISOString();
  const quiet = await tryCount(() => quietCustomers(db, cutoff, cutoffDay));
  const orphans = await tryCount(() => orphanedRows(db));
  const unused = await tryCount(() => unusedTags(db));

  const finding = (check: string, result: number | Error, hint: string): QualityFinding =>
    result instanceof Error ? { check, count: null, hint: `not checked: ${result.message}` } : { check, count: result, hint };
  return [
    finding('customers without email or phone', missing, 'add a way to reach them: crm customer edit <customer> --email … --phone …'),
    finding('invalid email addresses', badEmails, 'find them with crm sql "SELECT id, name, email FROM customers" and fix with crm customer edit'),
    finding('invalid phone numbers', badPhones, 'phones need 5 to 20 digits; fix with crm customer edit <customer> --phone …'),
    finding('likely duplicate pairs', duplicates, 'review with crm customer duplicates, then crm customer merge <keep> <other>'),
    finding('customers without activity for a year', quiet, 'no activity or sale in 365 days: reach out, or tag them with crm customer edit --tag churned'),
    finding('orphaned rows', orphans, 'rows pointing at a customer, deal, ticket or activity that is gone; see crm db check integrity results'),
    finding('unused tags', unused, 'tags no customer carries; harmless, they come back into use when tagged'),
  ];
}
