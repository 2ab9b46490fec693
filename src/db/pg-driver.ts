// `pg`, with pg-cursor and pg-copy-streams, loaded on first use by whichever PostgreSQL path needs
// it (the pool, `crm sql`, `db copy`).
// - They are bundled: the literal require() calls below are resolved by esbuild into one chunk.
//   Read from node_modules they were some thirty CommonJS files, each found, read and compiled on
//   its own: 60–90 ms against 18–27 ms for the same code bundled, measured here under load. Run
//   from source (the unit tests), the same calls go to node_modules.
// - On loading, pg 8 asks whether it runs in a Cloudflare Worker: with no `navigator` global
//   (Node 20 has none; Node 21 and later do) it builds a fetch `Response` to find out, which loads
//   Node's whole HTTP client, ~40 ms. A `navigator` that says Node answers the question without
//   it; it is there only while pg loads.
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type pg from 'pg';

/** Node's require where the bundle has none (the sources run by the unit tests). */
const load: NodeJS.Require = typeof require === 'function' ? require : createRequire(import.meta.url);

/** The pg module. */
export function loadPg(): typeof pg {
  const g = globalThis as { navigator?: unknown };
  if (g.navigator !== undefined) return requirePg();
  Object.defineProperty(g, 'navigator', { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true, writable: true });
  try {
    return requirePg();
  } finally {
    delete g.navigator;
  }
}

function requirePg(): typeof pg {
  return (typeof require === 'function' ? require('pg') : load('pg')) as typeof pg;
}

/** pg-cursor's Cursor class (it reads pg's own result and value helpers, so pg is loaded first). */
export function loadPgCursor(): unknown {
  loadPg();
  return typeof require === 'function' ? require('pg-cursor') : load('pg-cursor');
}

/** pg-copy-streams' COPY … FROM STDIN stream. */
export function loadCopyFrom(): (text: string) => Writable & pg.Submittable {
  loadPg();
  return ((typeof require === 'function' ? require('pg-copy-streams') : load('pg-copy-streams')) as { from(text: string): Writable & pg.Submittable }).from;
}
