// `crm customer duplicates | merge | export-data | forget`: keeping customer data trustworthy
// (issue 8). Registered onto the `customer` command from commands/customer.ts.
import type { Command } from 'commander';
import { UsageError } from '../../domain/errors.js';
import { centsToDecimal } from '../../domain/money.js';
import { isoSeconds } from '../../domain/dates.js';
import { examples, type Runtime } from '../runtime.js';

const METHODS = ['email', 'phone', 'name'] as const;

function parseMethods(input: string | undefined): (typeof METHODS)[number][] {
  if (input === undefined) return [...METHODS];
  const chosen = input.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const m of chosen) {
    if (!(METHODS as readonly string[]).includes(m)) throw new UsageError(`--by "${input}" is not one of ${METHODS.join(', ')}`, { hint: 'e.g. --by email or --by email,phone' });
  }
  if (chosen.length === 0) throw new UsageError('--by must name at least one of email, phone, name');
  return chosen as (typeof METHODS)[number][];
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** JSON for people and scripts: money as a decimal string beside its `_cents`, timestamps to the second. */
function presentable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(presentable);
  if (typeof value === 'string' && ISO_INSTANT.test(value)) return isoSeconds(value);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snake.endsWith('_cents') && typeof v === 'number') out[snake.slice(0, -'_cents'.length)] = centsToDecimal(v);
    out[snake] = presentable(v);
  }
  return out;
}

export function registerCustomerData(program: Command, { run }: Runtime): void {
  const customer = program.commands.find((c) => c.name() === 'customer') ?? program.command('customer').description('add, find, change and remove customers');

  customer
    .command('duplicates')
    .description('list likely duplicate customers, with a score and the reason')
    .option('--by <method>', 'only match on email, phone or name (comma-separated for several)')
    .option('--min-score <score>', 'leave out pairs scoring below this, 0 to 1 (default 0.5)')
    .addHelpText(
      'after',
      `\nEmails match on the mailbox they reach (case; Gmail dots and +tags; +tags at common providers),
phones on the national number (separators, +86/0086 and a leading 0 ignored), names by Jaro-Winkler
similarity >= 0.90 within the same city or company (worth less when their emails or phones differ).
Scores: same mailbox 0.95, same phone 0.90, similar name up to 0.80; reasons combine. "keep" is the
older record.\n` +
        examples('crm customer duplicates', 'crm customer duplicates --by email --format csv', "crm customer duplicates --format tsv | tail -n +2 | while IFS=$'\\t' read keep _ other _; do crm customer merge \"$keep\" \"$other\" --yes; done"),
    )
    .action(
      run(async (ctx, flags: { by?: string; minScore?: string }) => {
        const by = parseMethods(flags.by);
        const minScore = flags.minScore === undefined ? undefined : Number(flags.minScore);
        if (minScore !== undefined && (!/^\s*\d*\.?\d+\s*$/.test(flags.minScore!) || minScore > 1)) {
          throw new UsageError(`--min-score "${flags.minScore}" is not a number from 0 to 1`);
        }
        const { findDuplicates } = await import('../../services/duplicates.js');
        const report = await findDuplicates(await ctx.db(), { by, minScore });
        await ctx.print(
          [
            { key: 'keep_id', header: 'Keep', kind: 'int' },
            { key: 'keep_name', header: 'Name' },
            { key: 'other_id', header: 'Other', kind: 'int' },
            { key: 'other_name', header: 'Name' },
            { key: 'score', kind: 'number', digits: 2 },
            { key: 'reason' },
          ],
          report.pairs.map((p) => ({ keep_id: p.keepId, keep_name: p.keepName, other_id: p.otherId, other_name: p.otherName, score: p.score, reason: p.reasons.join('; ') })),
        );
        if (report.skippedBlocks > 0) {
          ctx.note(`skipped ${report.skippedBlocks} group${report.skippedBlocks === 1 ? '' : 's'} shared by too many customers to mean one person (e.g. a switchboard number or a very common name in one city)`);
        }
        ctx.note(`${report.pairs.length} likely duplicate pair${report.pairs.length === 1 ? '' : 's'}`);
      }),
    );

  customer
    .command('merge')
    .description('move everything of <other> onto <keep> and delete <other> (undoable)')
    .argument('<keep>', 'the customer to keep: id, email or unique name')
    .argument('<other>', 'the customer merged into it and then deleted')
    .option('--dry-run', 'show what would change and write nothing')
    .addHelpText(
      'after',
      `\nActivities, sales, deals, tickets and tasks move to <keep>; tags and custom fields are united (keep's
value wins when both have a field); keep's empty profile fields are filled from other. The merge is one
audit entry: \`crm undo <entry>\` reverses it.\n` + examples('crm customer merge 12 31 --dry-run', 'crm customer merge li.wei@example.com 31 --yes'),
    )
    .action(
      run(async (ctx, keepRef: string, otherRef: string, flags: { dryRun?: boolean }) => {
        const { resolveCustomer, describeCustomer } = await import('../../services/customers.js');
        const { mergeCustomers, OWNED_TABLES } = await import('../../services/merge.js');
        const db = await ctx.db();
        const keep = await resolveCustomer(db, keepRef);
        const other = await resolveCustomer(db, otherRef);
        let plan = await mergeCustomers(db, keep.id, other.id, ctx.meta(), { dryRun: true });
        if (!flags.dryRun) {
          await ctx.confirm(`merge ${describeCustomer(other)} into ${describeCustomer(keep)} and delete ${describeCustomer(other)}?`);
          plan = await mergeCustomers(db, keep.id, other.id, ctx.meta());
        }
        const rows: Record<string, unknown>[] = [];
        for (const table of OWNED_TABLES) {
          const ids = plan.moves[table];
          if (ids.length > 0) rows.push({ change: 'move', what: table, count: ids.length, detail: `${table} ${ids.map((i) => `#${i}`).join(', ')} → customer #${keep.id}` });
        }
        if (plan.tagsAdded.length > 0) rows.push({ change: 'add', what: 'tags', count: plan.tagsAdded.length, detail: plan.tagsAdded.join(', ') });
        const added = Object.entries(plan.fieldsAdded);
        if (added.length > 0) rows.push({ change: 'add', what: 'fields', count: added.length, detail: added.map(([k, v]) => `${k}=${v}`).join(', ') });
        const kept = Object.entries(plan.fieldsKept);
        if (kept.length > 0) rows.push({ change: 'keep', what: 'fields', count: kept.length, detail: kept.map(([k, v]) => `${k}=${v.keep} (not ${v.other})`).join(', ') });
        const filled = Object.entries(plan.filled).filter(([k]) => k !== 'phone_digits');
        if (filled.length > 0) rows.push({ change: 'fill', what: 'profile', count: filled.length, detail: filled.map(([k, v]) => `${k}=${String(v)}`).join(', ') });
        rows.push({ change: 'delete', what: 'customer', count: 1, detail: describeCustomer(other) });
        await ctx.print([{ key: 'change' }, { key: 'what' }, { key: 'count', kind: 'int' }, { key: 'detail' }], rows);
        if (flags.dryRun) ctx.note('dry run: nothing was changed');
        else ctx.note(`merged ${describeCustomer(other)} into ${describeCustomer(keep)} (audit entry ${plan.auditId}; reverse it with \`crm undo ${plan.auditId}\`)`);
      }),
    );

  customer
    .command('export-data')
    .description('everything stored about one person, as one JSON document')
    .argument('<customer>', 'id, email or unique name')
    .addHelpText('after', examples('crm customer export-data li.wei@example.com', 'crm customer export-data 12 --output li-wei.json'))
    .action(
      run(async (ctx, ref: string) => {
        ctx.format(['json']);
        const { resolveCustomer } = await import('../../services/customers.js');
        const { exportCustomerData } = await import('../../services/privacy.js');
        const db = await ctx.db();
        const data = await exportCustomerData(db, await resolveCustomer(db, ref));
        const doc = { exported_at: ctx.now().toISOString(), ...data };
        await ctx.printText(JSON.stringify(presentable(doc), null, 2));
      }),
    );

  customer
    .command('forget')
    .description('erase a person everywhere, including the audit trail; keep their sales anonymously')
    .argument('<customer>', 'id, email or unique name')
    .addHelpText(
      'after',
      `\nDeletes the customer with their fields, tags, activities, deals, tickets and tasks, erases them from
earlier audit entries (with what their records said), redacts their email, phone, external id and full
name wherever other records and audit entries quote them, keeps their sales without a customer (revenue
reports do not change), records that an erase happened, and rebuilds the file (VACUUM) so the bytes
are gone. Backups made earlier still hold the data. This cannot be undone.\n` + examples('crm customer forget li.wei@example.com', 'crm customer forget 12 --yes'),
    )
    .action(
      run(async (ctx, ref: string) => {
        const { resolveCustomer, describeCustomer } = await import('../../services/customers.js');
        const { forgetCustomer, purgeFreedPages } = await import('../../services/privacy.js');
        const db = await ctx.db();
        const person = await resolveCustomer(db, ref);
        await ctx.confirm(`erase everything stored about ${describeCustomer(person)}? This cannot be undone`);
        const result = await forgetCustomer(db, person, ctx.meta());
        const e = result.erased;
        // Said before the file is rebuilt: if that fails (a full disk), the erase has still happened.
        ctx.note(
          `erased customer #${result.customerId}: ${e.activities} activities, ${e.deals} deals, ${e.tickets} tickets, ${e.tasks} tasks; ` +
            `${result.salesKept} sales kept without a customer; ${result.auditChangesErased} audit values and ${result.auditEntriesRedacted} audit entries scrubbed; ` +
            `${result.otherRecordsRedacted} other records that mentioned them redacted (recorded as entry ${result.auditId})`,
        );
        ctx.warn('backups made before now still hold this person\'s data: delete or re-create them (crm db backup)');
        const clean = purgeFreedPages(db);
        if (!clean) ctx.warn('another crm was reading the database, so the write-ahead log could not be emptied; run `crm db optimize` later');
      }),
    );
}
