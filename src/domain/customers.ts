// What a customer is called where a person reads it. A shop's customer may have no name (only an
// email, a phone or the shop's number): lists and reports then show the best of the others. The
// SQL form of the same rule is customerLabelSql in src/db/customer-label.ts; the two must agree.

export interface Labelled {
  name: string | null;
  email: string | null;
  phone: string | null;
  external_id: string | null;
}

/** The name, else the email, else the phone, else `ext:` and the shop's number. */
export function customerLabel(c: Labelled): string {
  if (c.name) return c.name;
  return c.email ?? c.phone ?? (c.external_id !== null ? `ext:${c.external_id}` : '');
}

/** A customer needs something to be known by: at least one of these. */
export const IDENTIFYING_FIELDS = ['name', 'email', 'phone', 'external_id'] as const;
