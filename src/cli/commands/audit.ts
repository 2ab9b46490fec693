// `crm audit list` and `crm undo`: who changed what and when, and reversing an entry (issue 8).
import type { Command } from 'commander';
import { parseInteger } from '../../domain/validation.js';
import { parseInstantFlag, parseLimitFlag } from '../flags.js';
import { examples, type Runtime } from '../runtime.js';

interface ListFlags {
  since?: string;
  entity?: string;
  customer?: string;
  limit?: string;
}

export function registerAudit(program: Command, { run }: Runtime): void {
  const audit = program.command('audit').description('the audit trail: who changed what, when, before and after')
    .addHelpText('after', examples('crm audit list --since 7d-ago', 'crm audit list --customer li.wei@example.com --format json', 'crm undo 42'));

  audit
    .command('list')
    .description('list audit entries, newest first (--format json adds before/after values)')
    .option('--since <date>', 'entries at or after this date or time (YYYY-MM-DD, 7d-ago, …)')
    .option('--entity <kind>', 'only entries about this kind of record: customer, sale, deal, ticket, config, …')
    .option('--customer <customer>', 'only entries about this customer (id, email or unique name)')
    .option('--limit <n>', 'at most N entries')
    .addHelpText('after', examples('crm audit list --since 7d-ago', 'crm audit list --customer li.wei@example.com', 'crm audit list --entity customer --format json --limit 5'))
    .action(
      run(async (ctx, flags: ListFlags) => {
        const since = flags.since !== undefined ? (await parseInstantFlag(ctx, flags.since, '--since')).toISOString() : undefined;
        const limit = parseLimitFlag(flags.limit);
        const format = ctx.format();
        const detailed = format === 'json' || format === 'ndjson';
        const { listAudit } = await import('../../services/audit-trail.js');
        const db = await ctx.db();
        let customerId: number | undefined;
        if (flags.customer !== undefined) {
          // A bare id works for customers that were since deleted or merged away.
          if (/^\s*\d+\s*$/.test(flags.customer)) customerId = Number(flags.customer);
          else {
            const { resolveCustomer } = await import('../../services/customers.js');
            customerId = (await resolveCustomer(db, flags.customer)).id;
          }
        }
        const entries = await listAudit(db, { since, entity: flags.entity?.trim().toLowerCase(), customerId, limit, withChanges: detailed });
        const columns = [
          { key: 'id', kind: 'int' as const },
          { key: 'at', kind: 'timestamp' as const, header: 'When' },
          { key: 'actor', header: 'Who' },
          { key: 'action' },
          { key: 'entity' },
          { key: 'entity_id', kind: 'int' as const, header: 'Entity ID' },
          { key: 'summary' },
          { key: 'status' },
          { key: 'command' },
          ...(detailed ? [{ key: 'undone_by', kind: 'int' as const }, { key: 'undoes', kind: 'int' as const }, { key: 'changes' }, { key: 'ranges' }] : []),
        ];
        await ctx.print(
          columns,
          entries.map((e) => ({
            ...e,
            status: e.undone_by !== null ? `undone by ${e.undone_by}` : e.undoes !== null ? `undoes ${e.undoes}` : null,
            changes: e.changes?.map((c) => ({ table: c.table, row_id: c.rowId, op: c.op, before: c.before, after: c.after })),
            ranges: e.ranges?.map((r) => ({ table: r.table, first_id: r.firstId, last_id: r.lastId })),
          })),
        );
      }),
    );

  program
    .command('undo')
    .description('reverse an audited change (an import, a merge, an edit) exactly')
    .argument('<entry>', 'audit entry id, from `crm audit list`')
    .addHelpText(
      'after',
      `\nRefuses, saying why, when the entry was already undone, when later entries changed the same rows, or
when other rows now depend on rows it would remove (e.g. sales recorded for an imported customer).
\`customer forget\` (irreversible by design) and \`db restore\` (restore the replaced file instead) are
never undone.\n` +
        examples('crm audit list --limit 5', 'crm undo 42', 'crm undo 42 --yes'),
    )
    .action(
      run(async (ctx, ref: string) => {
        const id = parseInteger(ref, 'entry', 1);
        const { assertUndoable, undoEntry } = await import('../../services/audit-trail.js');
        const db = await ctx.db();
        const entry = await assertUndoable(db, id);
        await ctx.confirm(`undo entry ${entry.id} (${entry.action}${entry.summary ? `: ${entry.summary}` : ''})?`);
        const result = await undoEntry(db, id, ctx.meta());
        const rows = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
        ctx.note(`undid entry ${id} (${entry.action}): ${rows(result.restored)} restored, ${rows(result.deleted)} removed; recorded as entry ${result.auditId}`);
      }),
    );
}
