// Transactions that lose a race on PostgreSQL are run again (src/db/transaction-retry.ts): real
// deadlocks and serialization failures, made on purpose on the test server, end in success for both
// sides. Needs the PostgreSQL test server (CRM_TEST_PG_URL); skipped without one.
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../src/db/postgres.js';
import type { DB } from '../../src/db/schema.js';
import { createPgDatabase, dropPgDatabase, PG_TEST_URL, pgUrl } from '../helpers/cli.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!PG_TEST_URL)('transaction retry on PostgreSQL (needs CRM_TEST_PG_URL)', () => {
  let database: string;
  let a: Kysely<DB>;
  let b: Kysely<DB>;

  beforeAll(async () => {
    database = createPgDatabase('crm_retry');
    // Two separate clients, as two crm processes would be.
    a = await connectPostgres(pgUrl(database), { env: process.env });
    b = await connectPostgres(pgUrl(database), { env: process.env });
    await sql`CREATE TABLE public.race (id int PRIMARY KEY, n int NOT NULL)`.execute(a);
    await sql`CREATE TABLE public.uniq (email text UNIQUE)`.execute(a);
  });
  afterAll(async () => {
    await a?.destroy();
    await b?.destroy();
    if (database) dropPgDatabase(database);
  });

  it('a deadlock: the transaction the server aborts runs again, and both changes are kept', async () => {
    await sql`TRUNCATE public.race; INSERT INTO public.race VALUES (1, 0), (2, 0)`.execute(a);
    const runs = { a: 0, b: 0 };
    // Each takes one row, then (after the other has taken its row) wants the other's: a deadlock.
    const crossing = (db: Kysely<DB>, first: number, second: number, who: 'a' | 'b') =>
      db.transaction().execute(async (trx) => {
        runs[who]++;
        await sql`UPDATE public.race SET n = n + 1 WHERE id = ${first}`.execute(trx);
        if (runs[who] === 1) await pause(300);
        await sql`UPDATE public.race SET n = n + 1 WHERE id = ${second}`.execute(trx);
      });
    await Promise.all([crossing(a, 1, 2, 'a'), crossing(b, 2, 1, 'b')]);
    expect(runs.a + runs.b).toBe(3);
    const rows = await sql<{ id: number; n: number }>`SELECT id, n FROM public.race ORDER BY id`.execute(a);
    expect(rows.rows).toEqual([
      { id: 1, n: 2 },
      { id: 2, n: 2 },
    ]);
  });

  it('a serialization failure (REPEATABLE READ): the loser runs again on fresh data, no update is lost', async () => {
    await sql`TRUNCATE public.race; INSERT INTO public.race VALUES (1, 0)`.execute(a);
    let runs = 0;
    const increment = (db: Kysely<DB>) =>
      db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          runs++;
          const { rows } = await sql<{ n: number }>`SELECT n FROM public.race WHERE id = 1`.execute(trx);
          await pause(200);
          await sql`UPDATE public.race SET n = ${rows[0]!.n + 1} WHERE id = 1`.execute(trx);
        });
    await Promise.all([increment(a), increment(b)]);
    expect(runs).toBe(3);
    const rows = await sql<{ n: number }>`SELECT n FROM public.race WHERE id = 1`.execute(a);
    expect(rows.rows).toEqual([{ n: 2 }]);
  });

  it('a unique violation is run again once and then reported as one clear line, not retried forever', async () => {
    await sql`INSERT INTO public.uniq VALUES ('ann@example.com')`.execute(a);
    let runs = 0;
    const error = await a
      .transaction()
      .execute(async (trx) => {
        runs++;
        await sql`INSERT INTO public.uniq VALUES ('ann@example.com')`.execute(trx);
      })
      .catch((e: unknown) => e as Error);
    expect(runs).toBe(2);
    expect((error as Error).message).toBe('a uniq row with email ann@example.com already exists');
  });

  it('any other error is reported at once', async () => {
    let runs = 0;
    await expect(
      a.transaction().execute(async (trx) => {
        runs++;
        await sql`SELECT 1 / 0`.execute(trx);
      }),
    ).rejects.toThrow(/division by zero/);
    expect(runs).toBe(1);
  });
});
