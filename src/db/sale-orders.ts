// How sales rows count as orders and purchases, as SQL aggregates that run on SQLite and PostgreSQL:
// an order is the shop's order_id when the line has one, else the sale itself; refund rows (negative
// amounts) are neither an order nor a purchase. Counting the distinct order ids and adding the lines
// without one avoids building a key string per row.

function prefix(alias: string): string {
  return alias ? `${alias}.` : '';
}

/** Orders among the aggregated sales rows (0 over no rows); with `when`, only rows where it holds (it appears twice). */
export function orderCountSql(alias = '', when?: string): string {
  const p = prefix(alias);
  const and = when ? `${when} AND ` : '';
  return `(count(DISTINCT CASE WHEN ${and}${p}amount_cents >= 0 THEN ${p}order_id END) + coalesce(sum(CASE WHEN ${and}${p}order_id IS NULL AND ${p}amount_cents >= 0 THEN 1 ELSE 0 END), 0))`;
}

/** The day of the last purchase among the aggregated sales rows (a refund is no purchase). */
export function lastPurchaseSql(alias = ''): string {
  const p = prefix(alias);
  return `max(CASE WHEN ${p}amount_cents >= 0 THEN ${p}sold_on END)`;
}
