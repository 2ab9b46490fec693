// Ticket services on a fresh migrated database: what `customer show` reuses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import type { DB } from '../../src/db/schema.js';
import { addCustomer } from '../../src/services/customers.js';
import { openTicket, rateTicket, resolveTicket, ticketTimeline, updateTicket } from '../../src/services/tickets.js';

const actor = { user: 'tester', command: 'crm test' };
const at = (iso: string) => ({ now: new Date(iso), actor });

describe('ticket services', () => {
  let dir: string;
  let db: Kysely<DB>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crm-tickets-'));
    db = await openDatabase(join(dir, 'crm.db'));
    await addCustomer(db, { name: 'Li Wei', email: 'li@example.com' }, at('2025-06-01T08:00:00Z'));
    await addCustomer(db, { name: 'Anna', email: 'anna@example.com' }, at('2025-06-01T08:00:00Z'));
    await openTicket(db, { customer: 'li@example.com', subject: 'Invoice', priority: 'high', kind: 'question' }, at('2025-06-01T09:00:00Z'));
    await openTicket(db, { customer: 'anna@example.com', subject: 'Late', priority: 'urgent', kind: 'complaint' }, at('2025-06-01T09:30:00Z'));
    await updateTicket(db, 1, { status: 'pending', comment: 'asked' }, at('2025-06-01T10:00:00Z'));
    await resolveTicket(db, 1, 'sent', at('2025-06-01T11:00:00Z'));
    await rateTicket(db, 1, { score: 3 }, at('2025-06-01T12:00:00Z'));
    await rateTicket(db, 1, { score: 5, comment: 'great' }, at('2025-06-01T13:00:00Z'));
    await updateTicket(db, 1, { status: 'open', comment: 'again' }, at('2025-06-01T14:00:00Z'));
  });
  afterAll(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a customer timeline of openings, status changes and ratings', async () => {
    expect(await ticketTimeline(db, 1)).toEqual([
      { at: '2025-06-01T09:00:00.000Z', ticketId: 1, event: 'opened', summary: '#1 Invoice (question, high)' },
      { at: '2025-06-01T10:00:00.000Z', ticketId: 1, event: 'pending', summary: '#1 pending: asked' },
      { at: '2025-06-01T11:00:00.000Z', ticketId: 1, event: 'resolved', summary: '#1 resolved: sent' },
      { at: '2025-06-01T12:00:00.000Z', ticketId: 1, event: 'rated', summary: '#1 rated 3/5' },
      { at: '2025-06-01T13:00:00.000Z', ticketId: 1, event: 'rated', summary: '#1 rated 5/5: great' },
      { at: '2025-06-01T14:00:00.000Z', ticketId: 1, event: 'reopened', summary: '#1 reopened: again' },
    ]);
    expect(await ticketTimeline(db, 2)).toHaveLength(1);
  });
});
