// Retrying a transaction that lost a race (issue 14). On PostgreSQL two transactions run at once;
// when the server has to abort one of them — a serialization failure (SQLSTATE 40001) or a deadlock
// (40P01) — the whole transaction is run again after a short random pause, rather than reported:
// the person did nothing wrong. A unique violation (23505) is run again once, so the checks at the
// start of the transaction see the row that won and say so in their own words ("a customer with
// email … already exists"); should it happen again it is reported as one clear line.
// Applied to every transaction of a PostgreSQL Kysely instance (retryingKysely, used where
// postgres.ts builds it); SQLite keeps its own way (BEGIN IMMEDIATE and the busy timeout) and is
// not wrapped. A transaction's callback may therefore run more than once: it must only read and
// write through its transaction (services never print or read input inside one).
import { Kysely, TransactionBuilder } from 'kysely';
import { ValidationError } from '../domain/errors.js';

/** SQLSTATEs of a transaction the server aborted because of another one: run it again. */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40001', '40P01']);
const UNIQUE_VIOLATION = '23505';

export interface RetryPolicy {
  /** Runs of a transaction that keeps losing races, first included. */
  attempts: number;
  /** The first pause's upper bound (ms); each further pause may be twice as long, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 12, baseDelayMs: 20, maxDelayMs: 1000 };

interface PgError {
  code?: string;
  table?: string;
  constraint?: string;
  detail?: string;
}

function sqlstate(error: unknown): string | undefined {
  const code = (error as PgError | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A unique violation the checks did not catch, as one clear line (the values come from the server's detail). */
export function describeUniqueViolation(error: unknown): ValidationError {
  const e = error as PgError;
  const key = /^Key \((.+?)\)=\((.*)\) already exists\.?$/.exec(e.detail ?? '');
  const what = e.table === 'customers' ? 'customer' : e.table === 'tags' ? 'tag' : `${e.table ?? 'row'} row`;
  return new ValidationError(
    key ? `a ${what} with ${key[1]} ${key[2]} already exists` : `a ${what} with the same ${e.constraint ?? 'key'} already exists`,
    { hint: 'nothing was changed; look it up and edit it instead' },
  );
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt`, again after a short random pause each time it fails with a retryable SQLSTATE. */
export async function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  let uniqueRetried = false;
  for (let run = 1; ; run++) {
    try {
      return await attempt();
    } catch (error) {
      const code = sqlstate(error);
      if (code === UNIQUE_VIOLATION) {
        if (uniqueRetried) throw describeUniqueViolation(error);
        uniqueRetried = true;
      } else if (!code || !RETRYABLE_SQLSTATES.has(code) || run >= policy.attempts) {
        throw error;
      }
      // Full jitter: the two that collided are unlikely to meet again.
      await pause(Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (run - 1)));
    }
  }
}

/** A transaction builder whose execute() runs withRetry; its settings keep the wrapping. */
function retrying<DB>(builder: TransactionBuilder<DB>, policy: RetryPolicy): TransactionBuilder<DB> {
  return new Proxy(builder, {
    get(target, prop) {
      if (prop === 'execute') {
        return <T>(callback: Parameters<TransactionBuilder<DB>['execute']>[0]) => withRetry(() => target.execute(callback) as Promise<T>, policy);
      }
      if (prop === 'setAccessMode' || prop === 'setIsolationLevel') {
        return (value: never) => retrying(target[prop](value), policy);
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Kysely whose every `transaction()` is retried on a lost race (the one place PostgreSQL's Kysely is built). */
export class RetryingKysely<DB> extends Kysely<DB> {
  override transaction(): TransactionBuilder<DB> {
    return retrying(super.transaction(), DEFAULT_RETRY);
  }
}
