// The import key of a sale known by its content (no external_id, no order): what makes importing
// the same file twice add nothing. Its form never changes, as keys written by earlier versions
// must still match: the SHA-1 of the content's own SHA-1 and its occurrence in the file (identical
// rows are distinct sales), in base64url. Used by the import (sqlite-import.ts) and by the reader
// thread that works the keys out ahead of it (sale-keys-step.ts).
import * as crypto from 'node:crypto';
import type { SaleRecord } from '../domain/imports.js';

/**
 * SHA-1 of a string. Node's one-shot crypto.hash (20.12 and later) costs a third of a createHash
 * object per call, which content-keyed sales call twice a row; older Node takes the object path.
 */
const sha1: (data: string, encoding: 'base64' | 'base64url') => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (data, encoding) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: string): string }).hash('sha1', data, encoding)
    : (data, encoding) => crypto.createHash('sha1').update(data).digest(encoding);

/** Characters in every key: 20 bytes in base64url without padding. */
export const SALE_KEY_WIDTH = 27;

/** The import key of a row known by its content: the content's hash and its occurrence in the file. */
export function saleKey(content: string, occurrence: number): string {
  return sha1(`${sha1(content, 'base64')}#${occurrence}`, 'base64url');
}

/** When a sale happened as its content says it: the instant when the file gave a time, else the day (the key's form before times). */
const whenOf = (s: SaleRecord): string => s.soldAt ?? s.soldOn;

/** A plain sale's content: its customer's id (blank for a guest) and its values. */
export function saleContent(customerId: number | null, s: SaleRecord): string {
  return `${customerId ?? ''}\u001f${s.product}\u001f${s.quantity}\u001f${s.amountCents}\u001f${whenOf(s)}\u001f${s.note ?? ''}`;
}
