// Export cursors (`crm export KIND --changed-since CURSOR`): where a database stood when an export
// read it — which database, how far its change log had got, and the highest id each exported table
// had issued — written as one opaque-looking token a nightly job keeps between runs:
//
//   crm1.<database id: 32 hex>.<change sequence>.<customers>.<sales>.<activities>.<tickets>.<deals>
//
// One cursor serves every kind: a row added since is one whose id is above the cursor's, a row
// edited or removed since is in the change log past the cursor's sequence.
import { UsageError, ValidationError } from './errors.js';
import { EXPORT_KINDS, type ExportKind } from './imports.js';

export interface ChangePosition {
  /** The database's own id (database_identity). */
  database: string;
  /** The last change-log sequence number issued. */
  seq: number;
  /** Per exported table, the highest id issued. */
  highestIds: Record<ExportKind, number>;
}

const PREFIX = 'crm1';
const DATABASE_ID = /^[0-9a-f]{32}$/;
const NUMBER = /^(0|[1-9][0-9]{0,15})$/;

export function formatCursor(position: ChangePosition): string {
  return [PREFIX, position.database, position.seq, ...EXPORT_KINDS.map((k) => position.highestIds[k])].join('.');
}

/** Reads a cursor printed by an earlier export; anything else is a UsageError (exit 2). */
export function parseCursor(text: string): ChangePosition {
  const parts = text.trim().split('.');
  const bad = (why: string) =>
    new UsageError(`--changed-since "${text}" is not an export cursor (${why})`, {
      hint: 'give the cursor an earlier `crm export` printed on stderr (cursor: crm1.…)',
    });
  if (parts[0] !== PREFIX) throw bad(`it should start with ${PREFIX}.`);
  if (parts.length !== 3 + EXPORT_KINDS.length) throw bad(`it should have ${3 + EXPORT_KINDS.length} parts separated by dots, not ${parts.length}`);
  const [, database, ...numbers] = parts as [string, string, ...string[]];
  if (!DATABASE_ID.test(database)) throw bad('its database id should be 32 hex digits');
  if (!numbers.every((n) => NUMBER.test(n) && Number.isSafeInteger(Number(n)))) throw bad('its positions should be whole numbers');
  const [seq, ...ids] = numbers.map(Number) as [number, ...number[]];
  const highestIds = Object.fromEntries(EXPORT_KINDS.map((k, i) => [k, ids[i]!])) as Record<ExportKind, number>;
  return { database, seq, highestIds };
}

/**
 * The refusal of a cursor from before the change log's pruned horizon (`crm db optimize` removed
 * changes it would need): never an incomplete change set.
 */
export function prunedCursorError(kind: ExportKind, cursorSeq: number, horizon: number): ValidationError {
  return new ValidationError(
    `the cursor is older than the change log this database keeps (change ${cursorSeq}; changes up to ${horizon} were pruned by \`crm db optimize\`)`,
    { hint: `export everything once (crm export ${kind}, without --changed-since) and continue from the cursor it prints` },
  );
}
