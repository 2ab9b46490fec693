// Deterministic benchmark data: the same seed gives the same customers and sales on every machine.
// CSV files for import benchmarks, and ready databases (built through `crm init`, then filled with
// prepared inserts) for report, segment and start-up benchmarks. Cached in test/bench/.data/.
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { CRM, DATA } from './lib.mjs';

/** mulberry32: a tiny seeded PRNG. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CITIES = ['Shanghai', 'Beijing', 'Hangzhou', 'Shenzhen', 'Guangzhou', 'Chengdu', 'Nanjing', 'Wuhan', "Xi'an", 'Suzhou', 'Berlin', 'London', 'Paris', 'New York', 'Toronto', 'Sydney'];
const SURNAMES = ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou', 'Smith', 'Müller', 'Garcia', 'Martin', 'Brown', 'Rossi'];
const GIVEN = ['Wei', 'Fang', 'Min', 'Jing', 'Lei', 'Yan', 'Hui', 'Tao', 'Anna', 'James', 'Marie', 'Lukas', 'Sofia', 'Noah', 'Emma', 'Luca'];
const SOURCES = ['referral', 'web', 'wechat', 'store', 'fair', 'ads'];
const PRODUCTS = ['Tea set', 'Green tea 500g', 'Oolong 250g', 'Teapot', 'Gift box', 'Cups x6', 'Puer cake', 'Matcha 100g'];
const TAGS = ['vip', 'wholesale', 'newsletter', 'churned', 'b2b'];

/** The i-th generated customer (0-based). */
export function customerAt(i, random) {
  const name = `${GIVEN[Math.floor(random() * GIVEN.length)]} ${SURNAMES[Math.floor(random() * SURNAMES.length)]}`;
  const age = random() < 0.08 ? '' : String(16 + Math.floor(random() * 60));
  const gender = ['female', 'male', 'other', ''][Math.floor(random() * 4)];
  const city = CITIES[Math.floor(random() * CITIES.length)];
  const year = 2019 + Math.floor(random() * 6);
  const created = `${year}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
  const tags = TAGS.filter(() => random() < 0.15).join(';');
  return {
    name,
    email: `customer${i}@example.com`,
    phone: `+86 1${String(3000000000 + i).padStart(10, '0')}`,
    age,
    gender,
    company: random() < 0.3 ? `Company ${Math.floor(random() * 5000)}` : '',
    city,
    source: SOURCES[Math.floor(random() * SOURCES.length)],
    tags,
    created,
  };
}

/** The i-th generated sale for `customers` customers. */
export function saleAt(i, customers, random) {
  const customer = Math.floor(random() * customers);
  const year = 2020 + Math.floor(random() * 6);
  const month = 1 + Math.floor(random() * 12);
  const day = 1 + Math.floor(random() * 28);
  return {
    external_id: `S${i}`,
    customer,
    product: PRODUCTS[Math.floor(random() * PRODUCTS.length)],
    quantity: 1 + Math.floor(random() * 5),
    amount_cents: 500 + Math.floor(random() * 200000),
    date: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
  };
}

const csvCell = (v) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

async function writeLines(path, header, count, lineAt) {
  if (existsSync(path)) return path;
  const temp = `${path}.tmp`;
  const out = createWriteStream(temp);
  out.write(header + '\n');
  let chunk = '';
  for (let i = 0; i < count; i++) {
    chunk += lineAt(i) + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  renameSync(temp, path);
  return path;
}

/**
 * customers-N.csv with the contract's customer import columns. `tags: 'every'` gives every row a tag
 * (the shape issue 19 measured), `externalIds` adds the shop's customer number (`100000 + i`).
 */
export async function customersCsv(n, seed = 1, { tags = 'some', externalIds = false } = {}) {
  const random = rng(seed);
  const cols = ['name', 'email', 'phone', 'age', 'gender', 'company', 'city', 'source', 'tags', 'created', ...(externalIds ? ['external_id'] : [])];
  const variant = `${tags === 'every' ? '-tagged' : ''}${externalIds ? '-shop' : ''}`;
  return writeLines(`${DATA}customers-${n}-${seed}${variant}.csv`, cols.join(','), n, (i) => {
    const c = customerAt(i, random);
    if (tags === 'every' && c.tags === '') c.tags = TAGS[i % TAGS.length];
    c.external_id = String(100000 + i);
    return cols.map((k) => csvCell(c[k])).join(',');
  });
}

/** sales-N-for-C.csv referencing customers by email; `externalId: false` leaves that column out (same rows). */
export async function salesCsv(n, customers, seed = 2, { externalId = true } = {}) {
  const random = rng(seed);
  const header = `${externalId ? 'external_id,' : ''}customer,product,quantity,amount,date,note`;
  return writeLines(`${DATA}sales-${n}-for-${customers}-${seed}${externalId ? '' : '-no-ext'}.csv`, header, n, (i) => {
    const s = saleAt(i, customers, random);
    return `${externalId ? `${s.external_id},` : ''}customer${s.customer}@example.com,${s.product},${s.quantity},${(s.amount_cents / 100).toFixed(2)},${s.date},`;
  });
}

/**
 * A shop's order lines: N lines in orders of 1–8 lines, each order for one customer named by the
 * shop's number (customersCsv with externalIds), with SKU, quantity and unit price, no amount and no
 * external_id (lines are known by order and content).
 */
export async function orderLinesCsv(n, customers, seed = 3) {
  const random = rng(seed);
  let order = 536000;
  let left = 0;
  let customer = 0;
  let date = '';
  return writeLines(`${DATA}order-lines-${n}-for-${customers}-${seed}.csv`, 'order_id,customer,sku,product,quantity,unit_price,date', n, () => {
    if (left === 0) {
      order++;
      left = 1 + Math.floor(random() * 8);
      customer = 100000 + Math.floor(random() * customers);
      date = `${2020 + Math.floor(random() * 6)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
    }
    left--;
    const p = Math.floor(random() * PRODUCTS.length);
    const price = (50 + Math.floor(random() * 5000)) / 100;
    return `${order},${customer},SKU${1000 + p},${PRODUCTS[p]},${1 + Math.floor(random() * 12)},${price.toFixed(2)},${date}`;
  });
}

/**
 * A crm database with `customers` customers and `sales` sales, created by `crm init` (so it has the
 * real schema and indexes) and filled directly. Returns its path.
 */
export function benchDatabase({ customers, sales = 0, seed = 1 }) {
  const path = `${DATA}crm-${customers}c-${sales}s-${seed}.db`;
  if (existsSync(path)) {
    // A fixture cached by an older build gets the newer migrations now, not inside a measured run.
    execFileSync(process.execPath, [CRM, '--db', path, 'db', 'migrate'], { stdio: 'ignore' });
    return path;
  }
  const temp = `${path}.building`;
  rmSync(temp, { force: true });
  execFileSync(process.execPath, [CRM, '--db', temp, 'init'], { stdio: 'ignore' });
  const db = new Database(temp);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insertCustomer = db.prepare(
    `INSERT INTO customers (id, name, email, phone, phone_digits, age, gender, company, city, source, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const tagIds = new Map();
  const insertTag = db.prepare('INSERT INTO tags (name) VALUES (?)');
  const linkTag = db.prepare('INSERT INTO customer_tags (customer_id, tag_id) VALUES (?, ?)');
  const insertSale = db.prepare(
    `INSERT INTO sales (customer_id, product, quantity, amount_cents, sold_on, external_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const random = rng(seed);
  db.transaction(() => {
    for (let i = 0; i < customers; i++) {
      const c = customerAt(i, random);
      const at = `${c.created}T09:00:00.000Z`;
      insertCustomer.run(i + 1, c.name, c.email, c.phone, c.phone.replace(/\D/g, ''), c.age === '' ? null : Number(c.age), c.gender || null, c.company || null, c.city, c.source, at, at);
      for (const tag of c.tags ? c.tags.split(';') : []) {
        if (!tagIds.has(tag)) tagIds.set(tag, insertTag.run(tag).lastInsertRowid);
        linkTag.run(i + 1, tagIds.get(tag));
      }
    }
    const salesRandom = rng(seed + 1);
    for (let i = 0; i < sales; i++) {
      const s = saleAt(i, customers, salesRandom);
      insertSale.run(s.customer + 1, s.product, s.quantity, s.amount_cents, s.date, s.external_id, `${s.date}T10:00:00.000Z`);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('ANALYZE');
  db.close();
  renameSync(temp, path);
  rmSync(`${temp}-wal`, { force: true });
  rmSync(`${temp}-shm`, { force: true });
  return path;
}
