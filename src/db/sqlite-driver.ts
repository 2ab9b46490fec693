// better-sqlite3, loaded on first use. It is CommonJS: require() loads it without the ESM loader's
// export scan. Loading its native addon costs every start-up ~20 ms, which a command on a
// PostgreSQL URL never needs, so the modules that open files ask for it here instead of at import.
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);
let driver: typeof Database | undefined;

/** The better-sqlite3 constructor. */
export function betterSqlite3(): typeof Database {
  driver ??= requireHere('better-sqlite3') as typeof Database;
  return driver;
}
