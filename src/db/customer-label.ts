// The SQL side of domain/customers.ts customerLabel: a customer's name, else email, else phone, else
// `ext:` and the shop's number; NULL when the row is missing (a LEFT JOIN to a removed customer).
export function customerLabelSql(alias: string): string {
  return `coalesce(nullif(${alias}.name, ''), ${alias}.email, ${alias}.phone, 'ext:' || ${alias}.external_id)`;
}
