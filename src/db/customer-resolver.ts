// Resolves the `customer` cells of imported rows (sales, activities, tickets) to customer ids, in
// the import's own transaction (sqlite-import.ts) and on the reader thread that works out sale keys
// ahead of it (sale-keys-step.ts).
import type Database from 'better-sqlite3';
import { RowError, type CustomerKey, type CustomerRef } from '../domain/imports.js';

/** How a batch insert can find a row's customer itself: by email or by external id, in the same statement. */
export type BatchKey = { email: string | null; externalId: string | null } | null;

export interface CustomerResolver {
  /** The one customer a `customer` cell names; a RowError when there is none, or several by different keys. */
  resolve(ref: CustomerRef): number;
  /** The key a multi-row insert can join on for this reference, or null when it must be resolved first. */
  batchKey(ref: CustomerRef): BatchKey;
}

const KEY_WORDS: Record<CustomerKey, string> = { external_id: 'external id', email: 'email', phone: 'phone number', id: 'id' };

/**
 * Resolves `customer` cells. With --customer-key only that key is looked up. Without it a cell may
 * match an external id, an email, a phone number or a crm id; matching two customers by two keys is
 * an invalid row naming both. Once customers carry external ids, a number that matches only a crm id
 * is refused (pass --customer-key id to mean crm ids): a shop number that happens to equal some crm
 * id must never attach a row to that other customer.
 */
export function customerResolver(sqlite: Database.Database): CustomerResolver {
  const byId = sqlite.prepare('SELECT id FROM customers WHERE id = ?').pluck();
  const byEmail = sqlite.prepare('SELECT id FROM customers WHERE email = ?').pluck();
  const byExternalId = sqlite.prepare('SELECT id FROM customers WHERE external_id = ?').pluck();
  const byPhone = sqlite.prepare('SELECT id FROM customers WHERE phone_digits = ? ORDER BY id LIMIT 3').pluck();
  const hasExternalIds = sqlite.prepare('SELECT 1 FROM customers WHERE external_id IS NOT NULL LIMIT 1').pluck().get() !== undefined;
  const phone = (digits: string): number | undefined => {
    const ids = byPhone.all(digits) as number[];
    if (ids.length > 1) throw new RowError('customer', `phone ${digits} matches several customers (#${ids.slice(0, 2).join(', #')}…); use an email or id`);
    return ids[0];
  };
  const pinned = (ref: CustomerRef, key: CustomerKey): number => {
    const id =
      key === 'external_id' ? byExternalId.get(ref.text) : key === 'email' ? byEmail.get(ref.email) : key === 'phone' ? phone(ref.digits!) : byId.get(ref.id);
    if (id === undefined) throw new RowError('customer', `no customer with ${KEY_WORDS[key]} ${ref.text}`);
    return id as number;
  };
  return {
    batchKey(ref) {
      if (ref.key === 'external_id') return { email: null, externalId: ref.text };
      if (ref.key === 'email' || (ref.key === null && ref.email !== null && !hasExternalIds)) return { email: ref.email, externalId: null };
      return null;
    },
    resolve(ref) {
      if (ref.key !== null) return pinned(ref, ref.key);
      const matches: Array<[CustomerKey, number]> = [];
      const add = (key: CustomerKey, id: unknown) => {
        if (id !== undefined) matches.push([key, id as number]);
      };
      if (hasExternalIds) add('external_id', byExternalId.get(ref.text));
      if (ref.email !== null) add('email', byEmail.get(ref.email));
      if (ref.id !== null) {
        const id = byId.get(ref.id);
        add('id', id);
        if (id === undefined && ref.digits !== null) add('phone', phone(ref.digits));
      } else if (ref.digits !== null) {
        add('phone', phone(ref.digits));
      }
      const first = matches[0];
      if (first === undefined) {
        if (!hasExternalIds && ref.email !== null) throw new RowError('customer', `no customer with email ${ref.email}`);
        if (!hasExternalIds && ref.id !== null) throw new RowError('customer', `no customer with id ${ref.id}`);
        if (!hasExternalIds && ref.digits !== null) throw new RowError('customer', `no customer with phone number ${ref.digits}`);
        const keys = hasExternalIds ? 'external id, email or phone' : 'id, email or phone';
        throw new RowError('customer', `no customer with ${keys} "${ref.text}"`);
      }
      const other = matches.find(([, id]) => id !== first[1]);
      if (other) {
        throw new RowError(
          'customer',
          `"${ref.text}" matches #${first[1]} by ${KEY_WORDS[first[0]]} and #${other[1]} by ${KEY_WORDS[other[0]]}; say which with --customer-key ${first[0]}|${other[0]}`,
        );
      }
      if (hasExternalIds && matches.every(([key]) => key === 'id')) {
        throw new RowError('customer', `no customer with external id ${ref.text} (#${first[1]} has it as its crm id: pass --customer-key id if the file means crm ids)`);
      }
      return first[1];
    },
  };
}

