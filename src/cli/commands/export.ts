// `crm export customers|sales|activities|tickets|deals`: the whole table (or a segment's customers)
// as CSV (default), JSON or NDJSON, streamed in constant memory, in the columns `crm import` reads.
// Each export prints a cursor on stderr; `--changed-since CURSOR` exports only what changed since.
import { Argument, type Command } from 'commander';
import { formatCursor, parseCursor } from '../../domain/change-cursor.js';
import { UsageError } from '../../domain/errors.js';
import { EXPORT_KINDS, IMPORT_COLUMNS, type ExportKind } from '../../domain/imports.js';
import type { Column } from '../../io/render.js';
import { examples, type Runtime } from '../runtime.js';
import type { Context } from '../context.js';

interface ExportFlags {
  segment?: string;
  bom?: boolean;
  changedSince?: string;
}

// Timestamps arrive as stored and are written `2025-03-01T08:30:00Z`.
const KINDS: Record<string, Column['kind']> = {
  created: 'timestamp',
  updated: 'timestamp',
  at: 'timestamp',
  opened: 'timestamp',
  resolved: 'timestamp',
  age: 'int',
  quantity: 'int',
  amount: 'money',
  unit_price: 'money',
  value: 'money',
  date: 'date',
  score: 'int',
  id: 'int',
  probability: 'int',
  close_date: 'date',
  won_sale_id: 'int',
};

const DEAL_COLUMNS = ['id', 'customer', 'title', 'value', 'stage', 'probability', 'close_date', 'lost_reason', 'won_sale_id', 'created', 'updated'];

export function exportColumns(kind: ExportKind, fieldKeys: readonly string[]): Column[] {
  // A customer's owner is a team member's login on PostgreSQL, nothing on a file: exports stay the
  // same on both engines without it (import takes it, to assign customers in bulk).
  const names = kind === 'deals' ? DEAL_COLUMNS : IMPORT_COLUMNS[kind].filter((name) => name !== 'owner');
  return [...names.map((key) => ({ key, kind: KINDS[key] ?? 'text' })), ...fieldKeys.map((k) => ({ key: `field.${k}` }))];
}

/** A change export's columns: what happened to the row (added, edited, removed), its id, then the export's own. */
export function changeColumns(kind: ExportKind, fieldKeys: readonly string[]): Column[] {
  return [{ key: 'change' }, { key: 'id', kind: 'int' }, ...exportColumns(kind, fieldKeys).filter((c) => c.key !== 'id')];
}

/** Ids of the customers in a saved segment (or a stored RFM group), evaluated now. */
async function segmentMembers(ctx: Context, name: string): Promise<Iterable<number>> {
  const { customerIdsInSegment } = await import('../../services/segments.js');
  return customerIdsInSegment(await ctx.db(), name, ctx.now());
}

export function registerExport(program: Command, { run }: Runtime): void {
  program
    .command('export')
    .description('export customers, sales, activities, tickets or deals as CSV (default), JSON or NDJSON')
    .addArgument(new Argument('<kind>', 'what to export').choices(EXPORT_KINDS))
    .option('--segment <name>', "only this segment's customers (and their records)")
    .option('--bom', 'start CSV with a UTF-8 byte order mark, for Excel')
    .option('--changed-since <cursor>', 'only rows added, edited or removed since the export that printed this cursor')
    .addHelpText(
      'after',
      `\nCSV columns are the ones \`crm import\` reads, so an export imports back as it was. Cells that a
spreadsheet would run as a formula (= + - @ tab) get a leading '.

Every export ends with \`cursor: crm1.…\` on stderr. Keep it: \`--changed-since\` with it exports only
the rows added, edited or removed since, each marked in a first column \`change\` (added, edited,
removed) beside its \`id\`; a removed row carries only its keys. It prints the next cursor.
` +
        examples(
          'crm export customers --output customers.csv',
          'crm export sales --format ndjson | gzip > sales.ndjson.gz',
          'crm export customers --segment vip --bom --output vip.csv',
          'crm export sales --changed-since crm1.9f2c…  --output sales-changes.csv',
        ),
    )
    .action(
      run(async (ctx, kind: ExportKind, flags: ExportFlags) => {
        const formats = ['csv', 'json', 'ndjson'] as const;
        ctx.format(formats);
        const since = flags.changedSince === undefined ? undefined : parseCursor(flags.changedSince);
        if (since && flags.segment !== undefined) {
          throw new UsageError('--changed-since and --segment cannot be combined', { hint: 'a change export covers the whole table: leave out --segment' });
        }
        const customerIds = flags.segment === undefined ? undefined : await segmentMembers(ctx, flags.segment);
        const { exportRows } = await import('../../services/exports.js');
        const result = await exportRows(await ctx.reader(), { kind, customerIds, since });
        const columns = since ? changeColumns(kind, result.fieldKeys) : exportColumns(kind, result.fieldKeys);
        await ctx.printStream(columns, result.rows, { formats, bom: Boolean(flags.bom) });
        const position = result.position();
        if (position) ctx.note(`cursor: ${formatCursor(position)}`);
      }),
    );
}
