// Regenerates examples/customers.csv and examples/activities.csv: a few hundred invented
// customers of a tea shop (Chinese and Western names, cities, ages…) and their conversations.
// Deterministic (seeded), so the files only change when this script does:
//   node scripts/make-examples.mjs
import { writeFileSync } from 'node:fs';

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20250601);
const pick = (list) => list[Math.floor(random() * list.length)];
const chance = (p) => random() < p;
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pad = (n) => String(n).padStart(2, '0');

// [hanzi, pinyin] pairs, so some customers are written in characters and some in pinyin.
const SURNAMES = [['王', 'Wang'], ['李', 'Li'], ['张', 'Zhang'], ['刘', 'Liu'], ['陈', 'Chen'], ['杨', 'Yang'], ['黄', 'Huang'], ['赵', 'Zhao'], ['吴', 'Wu'], ['周', 'Zhou'], ['徐', 'Xu'], ['孙', 'Sun'], ['马', 'Ma'], ['朱', 'Zhu'], ['胡', 'Hu'], ['郭', 'Guo'], ['林', 'Lin'], ['何', 'He'], ['高', 'Gao'], ['罗', 'Luo']];
const GIVEN_F = [['芳', 'Fang'], ['静', 'Jing'], ['敏', 'Min'], ['丽', 'Li'], ['婷', 'Ting'], ['雪', 'Xue'], ['慧', 'Hui'], ['晓燕', 'Xiaoyan'], ['欣怡', 'Xinyi'], ['雨涵', 'Yuhan']];
const GIVEN_M = [['伟', 'Wei'], ['磊', 'Lei'], ['强', 'Qiang'], ['军', 'Jun'], ['涛', 'Tao'], ['斌', 'Bin'], ['浩然', 'Haoran'], ['志强', 'Zhiqiang'], ['建国', 'Jianguo'], ['宇', 'Yu']];
const WEST_F = ['Anna', 'Emma', 'Sophie', 'Marie', 'Laura', 'Olivia', 'Charlotte', 'Zoë', 'Lucía', 'Hannah', 'Claire', 'Isabella'];
const WEST_M = ['James', 'Lukas', 'Noah', 'Thomas', 'Pierre', 'Luca', 'Daniel', 'José', 'Oliver', 'Felix', 'Matteo', 'William'];
const WEST_LAST = ['Smith', 'Müller', 'Schmidt', 'García', 'Martin', 'Brown', 'Rossi', "O'Connor", 'Dubois', 'Johnson', 'Fischer', 'Bianchi', 'Taylor', 'Weber', 'Moreau', 'Anderson'];
const CN_CITIES = [['Shanghai', 30], ['Beijing', 22], ['Hangzhou', 18], ['Shenzhen', 14], ['Guangzhou', 12], ['Chengdu', 10], ['Nanjing', 8], ['Suzhou', 8], ['Wuhan', 6], ["Xi'an", 5], ['Xiamen', 5], ['Fuzhou', 4]];
const WEST_CITIES = [['Berlin', 6], ['London', 6], ['Paris', 5], ['New York', 5], ['Munich', 4], ['Milan', 3], ['Madrid', 3], ['Toronto', 3], ['Sydney', 2]];
const CN_COMPANIES = ['Jade Garden Restaurant', '上海茶韵贸易有限公司', 'Hangzhou West Lake Hotel', 'Bright Future Tech', '深圳云端科技', 'Lotus Spa', 'Golden Dragon Catering', '成都熊猫文创'];
const WEST_COMPANIES = ['Teehaus Schmidt GmbH', 'The Leaf & Cup Ltd', 'Maison du Thé', 'Greenfield Offices Inc.', 'Café Aurora', 'Rossi Alimentari S.r.l.'];
const SOURCES_CN = ['wechat', 'wechat', 'taobao', 'store', 'referral', 'fair', 'xiaohongshu'];
const SOURCES_WEST = ['web', 'web', 'referral', 'fair', 'instagram', 'store'];
const PHONE_WEST = { Berlin: '+49 30', Munich: '+49 89', London: '+44 20', Paris: '+33 1', 'New York': '+1 212', Milan: '+39 02', Madrid: '+34 91', Toronto: '+1 416', Sydney: '+61 2' };

function weighted(list) {
  const total = list.reduce((s, [, w]) => s + w, 0);
  let r = random() * total;
  for (const [value, w] of list) if ((r -= w) < 0) return value;
  return list[0][0];
}

const csvCell = (v) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const ascii = (s) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z]/g, '').toLowerCase();

const customers = [];
const emails = new Set();
for (let i = 0; i < 300; i++) {
  const chinese = chance(0.72);
  const female = chance(0.55);
  let name;
  let emailBase;
  let city;
  let phone;
  if (chinese) {
    const [hs, ps] = pick(SURNAMES);
    const [hg, pg] = pick(female ? GIVEN_F : GIVEN_M);
    name = chance(0.45) ? `${hs}${hg}` : `${ps} ${pg}`;
    emailBase = `${ascii(pg)}.${ascii(ps)}`;
    city = weighted(CN_CITIES);
    phone = `+86 1${pick(['38', '39', '58', '86', '36', '77'])} ${int(1000, 9999)} ${int(1000, 9999)}`;
  } else {
    const first = pick(female ? WEST_F : WEST_M);
    const last = pick(WEST_LAST);
    name = `${first} ${last}`;
    emailBase = `${ascii(first)}.${ascii(last)}`;
    city = weighted(WEST_CITIES);
    phone = `${PHONE_WEST[city]} ${int(100, 999)} ${int(1000, 9999)}`;
  }
  let email = `${emailBase}@${pick(chinese ? ['example.cn', 'example.com', 'mail.example.cn'] : ['example.com', 'example.de', 'example.org'])}`;
  for (let n = 2; emails.has(email); n++) email = email.replace(/(\d*)@/, `${n}@`);
  emails.add(email);
  const tags = [];
  if (chance(0.15)) tags.push('vip');
  if (chance(0.2)) tags.push('newsletter');
  if (chance(0.1)) tags.push('wholesale');
  if (chance(0.12)) tags.push('tea-club');
  if (chance(0.06)) tags.push('churned');
  const company = chance(0.25) ? pick(chinese ? CN_COMPANIES : WEST_COMPANIES) : '';
  if (company && chance(0.5)) tags.push('b2b');
  const year = pick([2022, 2023, 2023, 2024, 2024, 2024, 2025]);
  const month = year === 2025 ? int(1, 5) : int(1, 12);
  customers.push({
    name,
    email: chance(0.94) ? email : '',
    phone: chance(0.85) ? phone : '',
    age: chance(0.9) ? String(int(19, 74)) : '',
    gender: chance(0.92) ? (female ? 'female' : 'male') : '',
    company,
    city,
    source: pick(chinese ? SOURCES_CN : SOURCES_WEST),
    tags: tags.join(';'),
    created: `${year}-${pad(month)}-${pad(int(1, 28))}`,
  });
}

const columns = ['name', 'email', 'phone', 'age', 'gender', 'company', 'city', 'source', 'tags', 'created'];
writeFileSync(new URL('../examples/customers.csv', import.meta.url), [columns.join(','), ...customers.map((c) => columns.map((k) => csvCell(c[k])).join(','))].join('\n') + '\n');

// Conversations: short scripted exchanges, in office hours of the customer's part of the world.
const SCRIPTS_CN = [
  [['chat', 'in', '询问中秋礼盒的价格和起订量'], ['chat', 'out', '发了礼盒价目表：20 盒起订 9 折'], ['call', 'in', '确认订 20 盒，要求 9 月 1 日前送到'], ['note', '', '客户对包装很满意，可以推荐给朋友']],
  [['chat', 'in', "Asked on WeChat whether the Longjing is this spring's harvest"], ['chat', 'out', "Yes, this spring's first picking; sent photos of the batch"], ['chat', 'in', 'Ordered 2 × Longjing 250g']],
  [['call', 'in', '想给公司采购 50 份年货礼盒'], ['email', 'out', 'Sent a quote for 50 New Year gift boxes with the company logo'], ['email', 'in', 'Thanks, will decide next week'], ['call', 'out', 'Followed up; they chose the red box, invoice to the company']],
  [['email', 'out', 'Sent the new oolong catalogue'], ['chat', 'in', '问铁观音和大红袍哪个更适合送长辈'], ['chat', 'out', '推荐了大红袍礼盒，附上冲泡说明']],
  [['meeting', 'out', '在店里品鉴了三款普洱'], ['note', '', 'Prefers WeChat over phone; best reached after 18:00'], ['chat', 'in', '订了一饼 2015 年的熟普']],
  [['chat', 'in', '快递还没到，问物流进度'], ['chat', 'out', '发了快递单号，预计明天送达'], ['chat', 'in', '收到了，谢谢']],
];
const SCRIPTS_WEST = [
  [['email', 'in', 'Asked whether we ship loose-leaf tea abroad'], ['email', 'out', 'Sent prices and the shipping options (DHL, 5–8 days)'], ['email', 'in', 'Ordered 3 × Oolong 250g']],
  [['email', 'in', 'Wants a quote for 30 gift boxes for the office, "before December"'], ['call', 'out', 'Called back; explained the bulk discount (10% from 20 boxes)'], ['email', 'in', 'Thanks, will decide next week'], ['email', 'out', 'Sent the invoice and tracking number']],
  [['call', 'in', 'Parcel arrived with a cracked teapot lid; asked for a replacement'], ['email', 'out', 'Apologised; a new lid is on its way'], ['note', '', 'Send a sample of the new Tieguanyin with the next order']],
  [['email', 'out', 'Sent the autumn newsletter with the tasting-event invitation'], ['email', 'in', 'Will come to the tasting with a colleague']],
  [['meeting', 'out', 'Tasting at the shop: liked the Tieguanyin; wants samples'], ['email', 'out', 'Sent 3 samples: Tieguanyin, Da Hong Pao, Dian Hong'], ['call', 'in', 'Liked the Dian Hong best; ordered 500 g']],
];

const rows = [];
for (const c of customers) {
  if (!c.email || !chance(0.7)) continue;
  const chinese = /[\u4e00-\u9fff]/.test(c.name) || /^\+86/.test(c.phone) || /Shanghai|Beijing|Hangzhou|Shenzhen|Guangzhou|Chengdu|Nanjing|Suzhou|Wuhan|Xi'an|Xiamen|Fuzhou/.test(c.city);
  // Office hours in UTC: 09:00–17:00 in China is 01:00–09:00 UTC; in Europe roughly 08:00–16:00.
  const [firstHour, lastHour] = chinese ? [1, 9] : [8, 16];
  const conversations = int(1, 3);
  for (let k = 0; k < conversations; k++) {
    const script = pick(chinese ? SCRIPTS_CN : SCRIPTS_WEST);
    let t = Date.UTC(2025, int(0, 4), int(1, 28), int(firstHour, lastHour), pick([0, 15, 30, 45]));
    for (const [type, direction, summary] of script) {
      rows.push({ customer: c.email, type, at: t, direction, summary });
      // The next step comes a few hours to a few days later, again in office hours.
      const next = new Date(t + int(2, 70) * 3_600_000);
      next.setUTCHours(Math.min(Math.max(next.getUTCHours(), firstHour), lastHour));
      t = next.getTime();
    }
  }
}
rows.sort((a, b) => a.at - b.at);
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
writeFileSync(
  new URL('../examples/activities.csv', import.meta.url),
  ['customer,type,at,direction,summary', ...rows.map((r) => [r.customer, r.type, iso(r.at), r.direction, r.summary].map(csvCell).join(','))].join('\n') + '\n',
);
console.log(`examples/customers.csv: ${customers.length} customers; examples/activities.csv: ${rows.length} activities`);
