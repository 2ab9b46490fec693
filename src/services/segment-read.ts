// Reading segments without Kysely: finding a segment by name, its members, and the RFM groups
// scored now or as of a day. The reads go through a reader (src/db/reader.ts), so `segment show`
// and `segment rfm` on a current SQLite file start without loading Kysely; services/segments.ts
// finds segments through the same lookUpSegment with Kysely.
import type { Reader, Rows, SavedSegmentRow } from '../db/reader.js';
import type { SegmentAsOf, SegmentInfo, SegmentMember } from '../db/segment-sql.js';
import { localDay } from '../domain/dates.js';
import { NotFoundError } from '../domain/errors.js';
import { RFM_GROUPS, RFM_PREFIX, rfmGroups, type RfmResult } from '../domain/rfm.js';

export type { RfmResult, SegmentAsOf, SegmentInfo, SegmentMember };

/** What a segment lookup needs to read: the saved row by name, and when the RFM groups were saved. */
export interface SegmentStore {
  savedRow(name: string): Promise<SavedSegmentRow | undefined>;
  rfmSavedAt(): Promise<string | undefined>;
}

/** Finds segment NAME (or an RFM group `rfm:GROUP`); NotFoundError (exit 1) when there is none. */
export async function lookUpSegment(store: SegmentStore, name: string): Promise<SegmentInfo> {
  const wanted = name.trim();
  if (wanted.toLowerCase().startsWith(RFM_PREFIX)) {
    const group = wanted.slice(RFM_PREFIX.length).toLowerCase();
    if (!RFM_GROUPS.some((g) => g.group === group)) {
      throw new NotFoundError(`no RFM group "${group}"`, { hint: `RFM groups are ${RFM_GROUPS.map((g) => `rfm:${g.group}`).join(', ')}` });
    }
    const savedAt = await store.rfmSavedAt();
    if (!savedAt) {
      throw new NotFoundError(`the RFM groups have not been saved yet`, { hint: 'run `crm segment rfm --save` to store them' });
    }
    return { name: `${RFM_PREFIX}${group}`, kind: 'saved-group', expression: null, description: `RFM group saved ${localDay(new Date(savedAt))}` };
  }
  const row = await store.savedRow(wanted);
  if (!row) {
    throw new NotFoundError(`no segment named "${wanted}"`, { hint: 'list segments with `crm segment list`' });
  }
  return { name: row.name, kind: 'expression', expression: row.expression, description: row.description };
}

/** The members of segment NAME: the segment, and its members streamed by id (synchronously on SQLite). */
export async function segmentMembersOn(reader: Reader, name: string, now: Date, asOf: SegmentAsOf | null = null): Promise<{ segment: SegmentInfo; members: Rows<SegmentMember> }> {
  const segment = await lookUpSegment(reader, name);
  return { segment, members: await reader.segmentMembers(segment, now, asOf) };
}

/**
 * Group sizes and revenue, scored now or as of a day; nothing is written. One read of the
 * live-sales index into arrays, the quintile cut points from sorted copies, then each customer's
 * group in one pass: the rank() windows of the SQL form sort every customer's row three times and
 * cost 2-3x as much.
 */
export async function rfmGroupsOn(reader: Reader, asOf: SegmentAsOf | null = null): Promise<RfmResult> {
  const values = await reader.rfmValues(asOf);
  return rfmGroups(values, await reader.customerCount(asOf));
}
