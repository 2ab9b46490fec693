// `crm import customers|sales|activities|tickets <FILE|->`: bulk import from CSV, all or nothing
// by default. Reading and parsing live in io/csvReader, the rules and the transaction in
// services/imports; this file turns flags into options, shows progress and writes the rejects file.
import { Argument, Option, type Command } from 'commander';
import { DATE_FORMATS, type DateFormat } from '../../domain/dates.js';
import { PartialError, UsageError } from '../../domain/errors.js';
import { CUSTOMER_KEYS, DUPLICATE_MODES, ENCODINGS, IMPORT_KINDS, parseColumnMap, type CustomerKey, type DuplicateMode, type Encoding, type ImportKind } from '../../domain/imports.js';
import { restoreCell } from '../../domain/spreadsheet.js';
import type { ImportCounts, ImportResult } from '../../services/imports.js';
import { examples, type Runtime } from '../runtime.js';
import type { Context } from '../context.js';

interface ImportFlags {
  map?: string[];
  dryRun?: boolean;
  onDuplicate?: DuplicateMode;
  skipInvalid?: boolean;
  rejects?: string;
  encoding: Encoding;
  delimiter?: string;
  ignoreUnknown?: boolean;
  dateFormat?: DateFormat;
  customerKey?: CustomerKey;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** `12,345 rows  41,000 rows/s  37%`, redrawn in place on a terminal's stderr. */
function progressReporter(ctx: Context, size: number | null, bytesRead: () => number, started: number) {
  const stderr = ctx.deps.stderr;
  if (!stderr.isTTY) return { update: (_: Readonly<ImportCounts>) => {}, finishing: (_: Readonly<ImportCounts>) => {}, clear: () => {} };
  let last = 0;
  let drawn = false;
  return {
    update(counts: Readonly<ImportCounts>) {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      const seconds = (now - started) / 1000;
      const rate = seconds > 0 ? Math.round(counts.rows / seconds) : 0;
      const percent = size ? ` · ${Math.min(100, Math.floor((bytesRead() / size) * 100))}%` : '';
      stderr.write(`\r\u001b[Kimporting: ${counts.rows.toLocaleString('en-US')} rows · ${rate.toLocaleString('en-US')} rows/s${percent}`);
      drawn = true;
    },
    finishing(counts: Readonly<ImportCounts>) {
      stderr.write(`\r\u001b[Kimporting: ${counts.rows.toLocaleString('en-US')} rows read; writing the database…`);
      drawn = true;
    },
    clear() {
      if (drawn) stderr.write('\r\u001b[K');
    },
  };
}

export function registerImport(program: Command, { run }: Runtime): void {
  program
    .command('import')
    .description('import customers, sales, activities or tickets from a CSV file (all or nothing by default)')
    .addArgument(new Argument('<kind>', 'what the file holds').choices(IMPORT_KINDS))
    .argument('<file>', 'CSV file with a header line, or - for stdin')
    .option('--map <SRC=DST>', 'read column SRC as DST (repeatable); DST may be field.KEY for customers', collect)
    .option('--dry-run', 'validate every row and report the counts without writing anything')
    .addOption(new Option('--on-duplicate <mode>', 'rows matching existing records: skip (default), update or error').choices(DUPLICATE_MODES))
    .option('--skip-invalid', 'import the valid rows and write the others to --rejects (exit 3)')
    .option('--rejects <file>', 'where --skip-invalid writes rejected rows (original columns + line + error)')
    .addOption(new Option('--encoding <encoding>', 'character encoding of the file').choices(ENCODINGS).default('utf8'))
    .option('--delimiter <char>', 'field separator (default ,; "tab" for TSV)')
    .option('--ignore-unknown', 'ignore columns crm does not know instead of failing')
    .addOption(new Option('--date-format <order>', 'how to read ambiguous dates like 01/02/2025').choices(DATE_FORMATS))
    .addOption(new Option('--customer-key <key>', 'what the customer column holds (default: whichever of external id, email, phone or id matches)').choices(CUSTOMER_KEYS))
    .addHelpText(
      'after',
      `\nColumns (header names, any case):
  customers   name email phone age gender company city source tags created external_id owner
              (tags separated by ;  field.KEY for a custom field)
  sales       external_id customer product quantity amount date note
              (customer: the customer's external id, email, phone number or id;
              --customer-key pins which)
  activities  customer type at direction summary
  tickets     external_id customer subject description priority kind status
              opened resolved score
` +
        examples(
          'crm import customers customers.csv',
          'crm import customers erp.csv --map "E-Mail=email" --map "Level=field.level" --encoding gbk',
          'crm import sales sales.csv --skip-invalid --rejects rejected.csv',
          'crm import sales shop-orders.csv --customer-key external_id',
          'crm import customers - --dry-run < customers.csv',
        ),
    )
    .action(
      run(async (ctx, kind: ImportKind, file: string, flags: ImportFlags) => {
        if (flags.skipInvalid && !flags.rejects) throw new UsageError('--skip-invalid needs --rejects FILE for the rows it leaves out');
        if (flags.rejects && !flags.skipInvalid) throw new UsageError('--rejects only makes sense with --skip-invalid');
        if (flags.customerKey && kind === 'customers') throw new UsageError('--customer-key is for files that name customers: sales, activities or tickets');
        const maps = (flags.map ?? []).map((m) => parseColumnMap(kind, m));
        const format = ctx.format(['table', 'json']);
        const { openCsvSource, parseDelimiter } = await import('../../io/csvReader.js');
        const delimiter = flags.delimiter === undefined ? ',' : parseDelimiter(flags.delimiter);
        const source = await openCsvSource(file, ctx.deps.stdin, { encoding: flags.encoding, delimiter });

        const db = await ctx.db();
        const { importRecords } = await import('../../services/imports.js');
        const { getSetting } = await import('../../services/config.js');
        const dateFormat = flags.dateFormat ?? (((await getSetting(db, 'date_format')) || undefined) as DateFormat | undefined);

        // Rejected rows stream to a file written atomically once the import has finished.
        const { atomicFileSink } = await import('../../io/output.js');
        const privateFiles = await import('../../db/private-files.js');
        const { createRowWriter } = await import('../../io/render.js');
        const { createColour } = await import('../../io/colour.js');
        const rejectsSink = flags.rejects && !flags.dryRun ? atomicFileSink(flags.rejects, privateFiles) : undefined;
        let rejectsWriter: ReturnType<typeof createRowWriter> | undefined;
        let rejectKeys: string[] = [];

        const started = performance.now();
        const progress = progressReporter(ctx, source.size, source.bytesRead, started);
        let result: ImportResult;
        try {
          result = await importRecords(
            db,
            { kind, source: source.name, records: (step) => source.batches(step), maps, ignoreUnknown: Boolean(flags.ignoreUnknown), onDuplicate: flags.onDuplicate ?? null, skipInvalid: Boolean(flags.skipInvalid), dryRun: Boolean(flags.dryRun), dateFormat, customerKey: flags.customerKey, sizeHint: source.size },
            ctx.meta(),
            {
              onProgress: progress.update,
              onFinishing: progress.finishing,
              onReject(header, line, values, reason) {
                if (!rejectsSink) return;
                if (!rejectsWriter) {
                  rejectKeys = header.map((h, i) => h || `column_${i + 1}`);
                  rejectsWriter = createRowWriter('csv', [...rejectKeys.map((key) => ({ key })), { key: 'line' }, { key: 'error' }], { colour: createColour(false) });
                }
                const row: Record<string, unknown> = { line, error: reason };
                // The writer neutralises what each cell means, so an escaped cell is first read back ('=x is =x).
                rejectKeys.forEach((key, i) => (row[key] = restoreCell(values[i] ?? '')));
                void rejectsSink.write(rejectsWriter.write(row));
              },
            },
          );
        } catch (error) {
          progress.clear();
          rejectsSink?.abort();
          throw error;
        }
        progress.clear();
        if (rejectsSink) {
          if (rejectsWriter) void rejectsSink.write(rejectsWriter.end());
          await rejectsSink.end();
        }
        const seconds = (performance.now() - started) / 1000;
        const counts = `${result.imported}, updated ${result.updated}, skipped ${result.skipped}, rejected ${result.rejected} in ${seconds.toFixed(1)} s`;
        ctx.note(result.dryRun ? `dry run, nothing written: would import ${counts.replace('updated', 'update').replace('skipped', 'skip').replace('rejected', 'reject')}` : `imported ${counts}`);
        if (result.stampedNow > 0) {
          const n = result.stampedNow;
          const [what, missing, fix] =
            kind === 'activities'
              ? [n === 1 ? 'activity has' : 'activities have', 'no "at" time', 'an "at" column']
              : [n === 1 ? 'ticket has' : 'tickets have', 'no "opened" time or "external_id"', 'an "opened" or "external_id" column'];
          const stamped = result.dryRun ? 'would be stamped' : n === 1 ? 'was stamped' : 'were stamped';
          ctx.warn(`${n} ${what} ${missing}: ${n === 1 ? 'it' : 'they'} ${stamped} with the time of this import, so importing the same rows again would add them again (${fix} makes re-imports safe)`);
        }
        if (format === 'json') {
          await ctx.printText(
            JSON.stringify({
              kind,
              file: source.name,
              dry_run: result.dryRun,
              rows: result.rows,
              imported: result.imported,
              updated: result.updated,
              skipped: result.skipped,
              rejected: result.rejected,
              stamped_now: result.stampedNow,
              seconds: Number(seconds.toFixed(3)),
              audit_id: result.auditId,
              rejects: flags.rejects && !flags.dryRun && result.rejected > 0 ? flags.rejects : null,
            }),
          );
        }
        if (result.rejected > 0) {
          throw new PartialError(
            `${result.rejected} row${result.rejected === 1 ? ' was' : 's were'} rejected${flags.dryRun ? ' (dry run: no rejects file written)' : `; see ${flags.rejects}`}`,
          );
        }
      }),
    );
}
