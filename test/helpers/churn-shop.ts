// A generated shop whose customers leave by a known mechanism, as CSV files for `crm import`:
// every customer buys at their own usual gap (10 to 90 days, with jitter); a leaver's gaps grow
// before they stop, and shortly before stopping they open a complaint that is left unresolved or
// resolved with a rating of 1 or 2. Stayers now and then have a ticket resolved with a good rating.
// Seeded (test/helpers/random.ts): the same seed gives the same shop.
import { rng } from './random.js';

export interface ShopCustomer {
  id: number;
  email: string;
  leaver: boolean;
  /** The day a leaver stops buying (`YYYY-MM-DD`); null for stayers. */
  stopDay: string | null;
  sales: Array<{ day: string; cents: number }>;
}

export interface Shop {
  customers: ShopCustomer[];
  csv: { customers: string; sales: string; tickets: string; activities: string };
}

const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
const dayOf = (n: number) => new Date(Math.round(n) * DAY_MS).toISOString().slice(0, 10);

export interface ShopOptions {
  seed: number;
  customers: number;
  /** First and last day of the history. */
  from: string;
  to: string;
  leaverShare?: number;
}

export function generateShop(options: ShopOptions): Shop {
  const random = rng(options.seed);
  const from = dayNumber(options.from);
  const to = dayNumber(options.to);
  const customers: ShopCustomer[] = [];
  const ticketLines: string[] = [];
  const activityLines: string[] = [];
  let ticketNo = 0;
  for (let i = 1; i <= options.customers; i++) {
    const email = `shopper${i}@example.com`;
    const leaver = random() < (options.leaverShare ?? 0.4);
    const gap = 10 + random() * 80;
    const start = from + random() * Math.min(200, (to - from) / 3);
    // Leavers stop somewhere after their first few months, up to the end of the history.
    const stop = leaver ? start + 120 + random() * (to - start - 120) : Infinity;
    const sales: ShopCustomer['sales'] = [];
    let day = start;
    let slowing = 1;
    while (day <= to && day < stop) {
      sales.push({ day: dayOf(day), cents: 1000 + Math.floor(random() * 40000) });
      // Within three usual gaps of stopping, a leaver's gaps grow.
      if (leaver && stop - day < 3 * gap * slowing) slowing *= 1.6;
      day += gap * slowing * (0.6 + 0.8 * random());
    }
    if (sales.length === 0) sales.push({ day: dayOf(start), cents: 5000 });
    const lastDay = dayNumber(sales[sales.length - 1]!.day);
    if (leaver) {
      // A complaint shortly before stopping: unresolved, or resolved and rated 1–2.
      const opened = Math.max(start, lastDay - 20 - random() * 30);
      ticketNo++;
      if (random() < 0.5) {
        ticketLines.push(`T${ticketNo},${email},Broken order,,high,complaint,open,${dayOf(opened)} 10:00,,`);
      } else {
        ticketLines.push(`T${ticketNo},${email},Late delivery,,normal,complaint,resolved,${dayOf(opened)} 10:00,${dayOf(opened + 3)} 10:00,${1 + Math.floor(random() * 2)}`);
      }
    } else if (random() < 0.3) {
      const opened = start + random() * (to - start);
      ticketNo++;
      ticketLines.push(`T${ticketNo},${email},Question,,low,question,resolved,${dayOf(opened)} 09:00,${dayOf(opened + 1)} 09:00,${4 + Math.floor(random() * 2)}`);
    }
    // Contacts every few months while they buy.
    for (let d = start + random() * 60; d <= Math.min(to, leaver ? lastDay : to); d += 45 + random() * 90) {
      activityLines.push(`${email},call,${dayOf(d)} 11:00,out,Checked in`);
    }
    customers.push({ id: i, email, leaver, stopDay: leaver ? dayOf(Math.min(stop, to)) : null, sales });
  }
  const salesLines = customers.flatMap((c) => c.sales.map((s, k) => `S${c.id}-${k},${c.email},Tea,1,${(s.cents / 100).toFixed(2)},${s.day},`));
  return {
    customers,
    csv: {
      customers: ['name,email,city', ...customers.map((c) => `Shopper ${c.id},${c.email},Shanghai`)].join('\n') + '\n',
      sales: ['external_id,customer,product,quantity,amount,date,note', ...salesLines].join('\n') + '\n',
      tickets: ['external_id,customer,subject,description,priority,kind,status,opened,resolved,score', ...ticketLines].join('\n') + '\n',
      activities: ['customer,type,at,direction,summary', ...activityLines].join('\n') + '\n',
    },
  };
}
