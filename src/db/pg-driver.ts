// `pg`, loaded on first use by whichever PostgreSQL path needs it (the pool, `crm sql`, `db copy`).
// On loading, pg 8 asks whether it runs in a Cloudflare Worker: with no `navigator` global (Node 20
// has none; Node 21 and later do) it builds a fetch `Response` to find out, which loads Node's
// whole HTTP client, ~40 ms of every PostgreSQL command's start. A `navigator` that says Node
// answers the question without it; it is there only while pg loads.
import { createRequire } from 'node:module';
import type pg from 'pg';

const requireHere = createRequire(import.meta.url);

/** The pg module. */
export function loadPg(): typeof pg {
  const g = globalThis as { navigator?: unknown };
  if (g.navigator !== undefined) return requireHere('pg') as typeof pg;
  Object.defineProperty(g, 'navigator', { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true, writable: true });
  try {
    return requireHere('pg') as typeof pg;
  } finally {
    delete g.navigator;
  }
}
