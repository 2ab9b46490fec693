// `crm import` and `crm export` (issue 7), through the built binary on sandbox databases.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { baseEnv, CRM_BIN, ON_POSTGRES, openDb, sandbox, tableNames, type Sandbox } from '../helpers/cli.js';

const require = createRequire(import.meta.url);
const NOW = '2025-06-01T09:00:00Z';
const env = { CRM_NOW: NOW };
const SUMMARY = /^imported (\d+), updated (\d+), skipped (\d+), rejected (\d+) in \d+\.\d s$/m;

function summary(stderr: string) {
  const m = SUMMARY.exec(stderr);
  if (!m) throw new Error(`no summary line in:\n${stderr}`);
  return { imported: Number(m[1]), updated: Number(m[2]), skipped: Number(m[3]), rejected: Number(m[4]) };
}

function write(box: Sandbox, name: string, content: string | Buffer): string {
  const path = join(box.dir, name);
  writeFileSync(path, content);
  return path;
}

const CUSTOMERS_HEADER = 'name,email,phone,age,gender,company,city,source,tags,created';

/** Copies of fixtures for tests that write; removed after the file. */
const copies: Sandbox[] = [];
function copyOf(from: Sandbox): Sandbox {
  const copy = from.clone();
  copies.push(copy);
  return copy;
}
afterAll(() => {
  for (const copy of copies) copy.cleanup();
});

describe('import customers', () => {
  // An empty database (`base`) and the same after importing c.csv (`box`): the tests read these,
  // and a test that writes works on its own copy.
  let base: Sandbox;
  let box: Sandbox;
  const C_CSV =
    '\uFEFF Name ,EMAIL,Phone,age,Gender,company,CITY,source,tags,created\r\n' +
    'Li Wei,li.wei@example.com,+86 138 0013 8000,34,m,"Tea, Ltd",Shanghai,web,vip; b2b,2024-01-02\r\n' +
    '"Anna\r\nSchmidt",anna@example.com,,29,F,,Berlin,,vip,2024-02-03T10:00:00Z\r\n' +
    "'=SUM(A1),formula@example.com,,,,,,,,\r\n";
  beforeAll(() => {
    base = sandbox();
    base.ok(['init']);
    box = base.clone();
    box.ok(['import', 'customers', write(box, 'c.csv', C_CSV)], { env });
  });
  afterAll(() => {
    base?.cleanup();
    box?.cleanup();
  });

  it('reads a BOM, CRLF, quoted newlines and headers in any case, and prints the summary on stderr only', () => {
    const box = copyOf(base);
    const file = write(box, 'c.csv', C_CSV);
    const result = box.run(['import', 'customers', file], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(summary(result.stderr)).toEqual({ imported: 3, updated: 0, skipped: 0, rejected: 0 });
    const rows = box.query<Record<string, unknown>>('SELECT name, email, phone, phone_digits, age, gender, company, city, source, created_at FROM customers ORDER BY id');
    expect(rows).toEqual([
      { name: 'Li Wei', email: 'li.wei@example.com', phone: '+86 138 0013 8000', phone_digits: '8613800138000', age: 34, gender: 'male', company: 'Tea, Ltd', city: 'Shanghai', source: 'web', created_at: '2024-01-02T00:00:00.000Z' },
      { name: 'Anna\r\nSchmidt', email: 'anna@example.com', phone: null, phone_digits: null, age: 29, gender: 'female', company: null, city: 'Berlin', source: null, created_at: '2024-02-03T10:00:00.000Z' },
      { name: '=SUM(A1)', email: 'formula@example.com', phone: null, phone_digits: null, age: null, gender: null, company: null, city: null, source: null, created_at: '2025-06-01T09:00:00.000Z' },
    ]);
    const tags = box.query('SELECT c.email, t.name FROM customer_tags ct JOIN customers c ON c.id = ct.customer_id JOIN tags t ON t.id = ct.tag_id ORDER BY c.id, t.name');
    expect(tags).toEqual([
      { email: 'li.wei@example.com', name: 'b2b' },
      { email: 'li.wei@example.com', name: 'vip' },
      { email: 'anna@example.com', name: 'vip' },
    ]);
  });

  it('records one audit entry with the inserted id range', () => {
    const logs = box.query<{ id: number; action: string; entity: string; summary: string }>('SELECT id, action, entity, summary FROM audit_log');
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ action: 'import.customers', entity: 'customer' });
    expect(logs[0]!.summary).toContain('imported 3');
    const ranges = box.query('SELECT table_name, first_id, last_id FROM audit_range WHERE log_id = ? ORDER BY table_name', logs[0]!.id);
    expect(ranges).toEqual([
      { table_name: 'customers', first_id: 1, last_id: 3 },
      { table_name: 'tags', first_id: 1, last_id: 2 },
    ]);
  });

  it('re-running the same file changes nothing (existing customers are skipped)', () => {
    const before = box.dump();
    const result = box.run(['import', 'customers', join(box.dir, 'c.csv')], { env });
    expect(result.code).toBe(0);
    expect(summary(result.stderr)).toEqual({ imported: 0, updated: 0, skipped: 3, rejected: 0 });
    expect(box.dump()).toBe(before);
  });

  it('--on-duplicate update overwrites the given cells, adds tags and audits each change', () => {
    const own = copyOf(box);
    const file = write(own, 'update.csv', 'email,city,tags,field.plan\nli.wei@example.com,Hangzhou,wholesale,gold\nANNA@example.com,,,\n');
    const result = own.run(['import', 'customers', file, '--on-duplicate', 'update'], { env });
    expect(result.code).toBe(0);
    // Anna's row gives nothing new: it counts as skipped.
    expect(summary(result.stderr)).toEqual({ imported: 0, updated: 1, skipped: 1, rejected: 0 });
    expect(own.query('SELECT name, city FROM customers WHERE id = 1')).toEqual([{ name: 'Li Wei', city: 'Hangzhou' }]);
    expect(own.query("SELECT value FROM customer_fields WHERE customer_id = 1 AND key = 'plan'")).toEqual([{ value: 'gold' }]);
    const changes = own.query<{ table_name: string; op: string; before: string | null; after: string }>(
      "SELECT table_name, op, before, after FROM audit_change WHERE log_id = (SELECT max(id) FROM audit_log) ORDER BY id",
    );
    expect(changes.map((c) => `${c.table_name} ${c.op}`)).toEqual(['customers update', 'customer_tags insert', 'customer_fields insert']);
    expect(JSON.parse(changes[0]!.before!).city).toBe('Shanghai');
    expect(JSON.parse(changes[0]!.after).city).toBe('Hangzhou');
  });

  it('--on-duplicate error makes an existing email an invalid row', () => {
    const before = box.dump();
    const file = write(box, 'dup.csv', 'name,email\nSomeone,li.wei@example.com\n');
    const result = box.run(['import', 'customers', file, '--on-duplicate', 'error'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 2: email: customer #1 already has this email$/m);
    expect(box.dump()).toBe(before);
  });

  it('matches a row without email on the phone digits', () => {
    const own = copyOf(box);
    const file = write(own, 'phone.csv', 'name,phone,city\nLi W.,+86-138-0013-8000,Suzhou\n');
    const result = own.run(['import', 'customers', file, '--on-duplicate', 'update'], { env });
    expect(summary(result.stderr)).toMatchObject({ imported: 0, updated: 1 });
    expect(own.query('SELECT name, city FROM customers WHERE id = 1')).toEqual([{ name: 'Li W.', city: 'Suzhou' }]);
  });

  it('shows progress on stderr only when it is a terminal', () => {
    const own = copyOf(box);
    const lines = ['name,email'];
    for (let i = 0; i < 30_000; i++) lines.push(`Tty ${i},tty${i}@example.com`);
    const file = write(own, 'tty.csv', lines.join('\n') + '\n');
    const hasScript = spawnSync('script', ['--version']).status === 0;
    if (!hasScript) return; // util-linux `script` gives the child a terminal; without it, nothing to check
    const command = `${process.execPath} ${CRM_BIN} --db ${own.dbPath} import customers ${file}`;
    const tty = spawnSync('script', ['-qfec', command, '/dev/null'], { encoding: 'utf8', env: baseEnv({ CRM_NOW: NOW }) });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/\r\u001b\[Kimporting: [\d,]+ rows (· [\d,]+ rows\/s · \d+%|read; writing the database…)/);
    expect(tty.stdout).toMatch(/imported 30000, updated 0, skipped 0, rejected 0 in \d+\.\d s/);
  });

  it('knows a customer without email or phone by name, so re-imports stay idempotent', () => {
    const own = copyOf(box);
    const file = write(own, 'names.csv', 'name,city\nZhao Haoran,Chengdu\n');
    expect(summary(own.run(['import', 'customers', file], { env }).stderr)).toMatchObject({ imported: 1 });
    expect(summary(own.run(['import', 'customers', file], { env }).stderr)).toMatchObject({ imported: 0, skipped: 1 });
    const twice = write(own, 'names2.csv', 'name,city\nXu Ming,Wuhan\nxu ming,Wuhan\n');
    const result = own.run(['import', 'customers', twice], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 3: name: duplicate of line 2$/m);
  });

  it('--map renames columns, field.KEY fills custom fields, and --format json prints a summary on stdout', () => {
    const own = copyOf(box);
    const file = write(own, 'erp.csv', 'Kunde,E-Mail,Stufe\nKarl,karl@example.com,silver\n');
    const result = own.run(['import', 'customers', file, '--map', 'kunde=name', '--map', 'E-MAIL=email', '--map', 'Stufe=field.level', '--format', 'json'], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ kind: 'customers', imported: 1, updated: 0, skipped: 0, rejected: 0, dry_run: false, rows: 1 });
    expect(own.query("SELECT c.name, f.value FROM customers c JOIN customer_fields f ON f.customer_id = c.id WHERE f.key = 'level'")).toEqual([{ name: 'Karl', value: 'silver' }]);
  });

  it('refuses an unknown column unless mapped or --ignore-unknown', () => {
    const own = copyOf(box);
    const before = own.dump();
    const file = write(own, 'unknown.csv', 'name,email,shoe size\nUte,ute@example.com,39\n');
    const result = own.run(['import', 'customers', file], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: line 1: unknown column "shoe size"$/m);
    expect(result.stderr).toMatch(/^hint: .*--ignore-unknown/m);
    expect(own.dump()).toBe(before);
    const ok = own.run(['import', 'customers', file, '--ignore-unknown'], { env });
    expect(summary(ok.stderr).imported).toBe(1);
  });

  it('--dry-run validates and counts without writing', () => {
    const before = box.dump();
    const file = write(box, 'dry.csv', 'name,email\nNew One,new1@example.com\nLi,li.wei@example.com\n');
    const result = box.run(['import', 'customers', file, '--dry-run'], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^dry run, nothing written: would import 1, update 0, skip 1, reject 0 in \d+\.\d s$/m);
    expect(box.dump()).toBe(before);
  });

  it('reads GBK with --encoding gbk, a ; delimiter, stdin, and ambiguous dates with --date-format', () => {
    const own = copyOf(box);
    const iconv = require('iconv-lite');
    const gbk = write(own, 'gbk.csv', iconv.encode('name,email,city,gender\n王伟,wang.wei@example.com,上海,男\n', 'gbk'));
    expect(own.run(['import', 'customers', gbk, '--encoding', 'gbk'], { env }).code).toBe(0);
    expect(own.query("SELECT name, city, gender FROM customers WHERE email = 'wang.wei@example.com'")).toEqual([{ name: '王伟', city: '上海', gender: 'male' }]);

    const semi = write(own, 'semi.csv', 'name;email;created\nJo;jo@example.com;03/04/2024\n');
    const ambiguous = own.run(['import', 'customers', semi, '--delimiter', ';'], { env });
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/^line 2: created: "03\/04\/2024" is ambiguous/m);
    expect(own.run(['import', 'customers', semi, '--delimiter', ';', '--date-format', 'dmy'], { env }).code).toBe(0);
    expect(own.query("SELECT created_at FROM customers WHERE email = 'jo@example.com'")).toEqual([{ created_at: '2024-04-03T00:00:00.000Z' }]);

    const piped = own.run(['import', 'customers', '-'], { env, input: 'name,email\nPia,pia@example.com\n' });
    expect(summary(piped.stderr).imported).toBe(1);
  });
});

describe('invalid rows', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
    box.ok(['customer', 'add', '--name', 'Existing', '--email', 'old@example.com'], { env });
  });
  afterAll(() => box.cleanup());

  it('imports nothing and lists problems as line N: column: reason (line numbers count quoted newlines)', () => {
    const before = box.dump();
    const file = write(
      box,
      'bad.csv',
      'name,email,age,gender\n' + // 1
        'Good,good@example.com,30,f\n' + // 2
        '"Two\nLines",two@example.com,31,\n' + // 3-4
        'Bad Email,not-an-email,20,\n' + // 5
        ',,20,\n' + // 6
        'Old,old2@example.com,200,x\n' + // 7
        'Dup,GOOD@example.com,40,\n', // 8
    );
    const result = box.run(['import', 'customers', file], { env });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').slice(0, 6)).toEqual([
      'error: 4 invalid rows in ' + file + '; nothing was imported',
      'line 5: email: "not-an-email" is not a valid email address',
      'line 6: needs at least one of name, email, phone or external_id',
      'line 7: age: "200" is not a whole number from 0 to 150',
      'line 8: email: duplicate of line 2',
      'hint: fix them and run again, or import the valid rows with --skip-invalid --rejects FILE',
    ]);
    expect(box.dump()).toBe(before);
  });

  it('shows the first 20 problems and a count of the rest', () => {
    const rows = Array.from({ length: 25 }, (_, i) => `P${i},bad${i}`).join('\n');
    const file = write(box, 'many.csv', `name,email\n${rows}\n`);
    const result = box.run(['import', 'customers', file], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: 25 invalid rows/m);
    expect(result.stderr.match(/^line \d+: email: /gm)).toHaveLength(20);
    expect(result.stderr).toMatch(/^… and 5 more$/m);
  });

  it('--skip-invalid imports the valid rows, writes the rest to --rejects (neutralised) and exits 3', () => {
    const own = copyOf(box);
    const file = write(own, 'mixed.csv', 'name,email,age\nOk One,ok1@example.com,20\n=HYPERLINK("x"),bad,21\nOk Two,ok2@example.com,22\nOk Dup,OK1@example.com,23\n');
    const rejects = join(own.dir, 'rejects.csv');
    const result = own.run(['import', 'customers', file, '--skip-invalid', '--rejects', rejects], { env });
    expect(result.code).toBe(3);
    expect(summary(result.stderr)).toEqual({ imported: 2, updated: 0, skipped: 0, rejected: 2 });
    expect(result.stderr).toMatch(/^error: 2 rows were rejected; see .*rejects\.csv$/m);
    const text = readFileSync(rejects, 'utf8');
    expect(text).toContain(`'=HYPERLINK`);
    expect(parse(text, { columns: true })).toEqual([
      { name: `'=HYPERLINK("x")`, email: 'bad', age: '21', line: '3', error: 'email: "bad" is not a valid email address' },
      { name: 'Ok Dup', email: 'OK1@example.com', age: '23', line: '5', error: 'email: duplicate of line 2' },
    ]);
    expect(own.query("SELECT name FROM customers WHERE email LIKE 'ok%' ORDER BY id")).toEqual([{ name: 'Ok One' }, { name: 'Ok Two' }]);
  });

  it('within one file, --on-duplicate update lets the later row win and skip keeps the first', () => {
    const own = copyOf(box);
    const file = write(own, 'twice.csv', 'name,email,city\nFirst,twice@example.com,Paris\nSecond,twice@example.com,Rome\n');
    const updated = own.run(['import', 'customers', file, '--on-duplicate', 'update'], { env });
    expect(summary(updated.stderr)).toMatchObject({ imported: 1, updated: 1 });
    expect(own.query("SELECT name, city FROM customers WHERE email = 'twice@example.com'")).toEqual([{ name: 'Second', city: 'Rome' }]);
    const file2 = write(own, 'twice2.csv', 'name,email,city\nFirst,twice2@example.com,Paris\nSecond,twice2@example.com,Rome\n');
    const skipped = own.run(['import', 'customers', file2, '--on-duplicate', 'skip'], { env });
    expect(summary(skipped.stderr)).toMatchObject({ imported: 1, skipped: 1 });
    expect(own.query("SELECT name FROM customers WHERE email = 'twice2@example.com'")).toEqual([{ name: 'First' }]);
  });

  it('holds rows back for multi-row inserts without changing what happens to duplicates', () => {
    const own = copyOf(box);
    const emails = Array.from({ length: 40 }, (_, i) => `n${i}@example.com`);
    emails[19] = 'old@example.com'; // an existing customer, in the middle of a batch
    emails[34] = 'N2@example.com'; // the same as the row on line 4
    const file = write(own, 'batch.csv', `name,email\n${emails.map((e, i) => `Name ${i},${e}`).join('\n')}\n`);
    const rejects = join(own.dir, 'batch-rejects.csv');
    const result = own.run(['import', 'customers', file, '--skip-invalid', '--rejects', rejects], { env });
    expect(result.code).toBe(3);
    expect(summary(result.stderr)).toEqual({ imported: 38, updated: 0, skipped: 1, rejected: 1 });
    expect(parse(readFileSync(rejects, 'utf8'), { columns: true })).toEqual([{ name: 'Name 34', email: 'N2@example.com', line: '36', error: 'email: duplicate of line 4' }]);
    const stored = own.query<{ name: string }>("SELECT name FROM customers WHERE email LIKE 'n%@example.com' ORDER BY id").map((r) => r.name);
    expect(stored).toEqual(emails.map((_, i) => `Name ${i}`).filter((_, i) => i !== 19 && i !== 34));
  });

  it('rejects --skip-invalid without --rejects as a usage error', () => {
    const file = write(box, 'mixed.csv', 'name,email,age\nOk One,ok1@example.com,20\n=HYPERLINK("x"),bad,21\n');
    const result = box.run(['import', 'customers', file, '--skip-invalid'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --skip-invalid needs --rejects FILE/m);
  });
});

describe('bad input files', () => {
  let box: Sandbox;
  let before: string;
  /** A customers file in latin1: "José" with é as the single byte 0xE9. */
  const LATIN1 = Buffer.concat([Buffer.from('name,email\nA,a@example.com\nJos'), Buffer.from([0xe9]), Buffer.from(',jose@example.com\n')]);
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
    box.ok(['customer', 'add', '--name', 'Existing', '--email', 'old@example.com'], { env });
    before = box.dump();
  });
  afterAll(() => box.cleanup());

  const cases: Array<[string, () => { args: string[]; input?: string | Buffer }, number, RegExp]> = [
    ['an empty file', () => ({ args: [write(box, 'empty.csv', '')] }), 1, /^error: .*empty\.csv is empty \(0 bytes\)$/m],
    ['too many fields', () => ({ args: [write(box, 'wide.csv', 'name,email\nA,a@example.com\nB,b@example.com,extra\n')] }), 1, /^line 3: has 3 fields, the header has 2$/m],
    ['too few fields', () => ({ args: [write(box, 'narrow.csv', 'name,email,city\nA,a@example.com\n')] }), 1, /^line 2: has 2 fields, the header has 3$/m],
    ['an unknown column', () => ({ args: [write(box, 'unk.csv', 'name,colour\nA,red\n')] }), 1, /^error: line 1: unknown column "colour"$/m],
    ['no column to know a customer by', () => ({ args: [write(box, 'noname.csv', 'age,city\n30,Paris\n')] }), 1, /^error: line 1: a customers file needs one of the columns name, email, phone or external_id$/m],
    ['duplicate emails in one file', () => ({ args: [write(box, 'dups.csv', 'name,email\nA,same@example.com\nB,Same@Example.com\n')] }), 1, /^line 3: email: duplicate of line 2$/m],
    ['a 10 MB field', () => ({ args: [write(box, 'huge.csv', `name,email\nA,a@example.com\n"${'x'.repeat(10 * 1024 * 1024)}",b@example.com\n`)] }), 1, /^line 3: name: longer than 1,048,576 characters \(10,485,760\)$/m],
    [
      'invalid UTF-8 with --encoding utf8',
      () => ({ args: [write(box, 'latin.csv', LATIN1), '--encoding', 'utf8'] }),
      1,
      /^error: .*latin\.csv: line 3: invalid UTF-8$/m,
    ],
    ['an unclosed quote', () => ({ args: [write(box, 'quote.csv', 'name,email\nA,a@example.com\n"B,b@example.com\nC,c@example.com\n')] }), 1, /^error: .*line 3: a quoted field is never closed$/m],
    ['a missing file', () => ({ args: [join(box.dir, 'nope.csv')] }), 1, /^error: .*nope\.csv: no such file$/m],
    ['a directory', () => ({ args: [(mkdirSync(join(box.dir, 'folder'), { recursive: true }), join(box.dir, 'folder'))] }), 1, /^error: .*folder is a directory, not a CSV file$/m],
    ['- with nothing on stdin', () => ({ args: ['-'], input: '' }), 1, /^error: stdin is empty \(0 bytes\)$/m],
  ];

  for (const [name, make, code, message] of cases) {
    it(`refuses ${name}: exit ${code}, a clear error, nothing written`, () => {
      const { args, input } = make();
      const result = box.run(['import', 'customers', ...args], { env, input });
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(box.dump()).toBe(before);
    });
  }

  it('the same file as latin1 imports', () => {
    const own = copyOf(box);
    const result = own.run(['import', 'customers', write(own, 'latin.csv', LATIN1), '--encoding', 'latin1'], { env });
    expect(result.code).toBe(0);
    expect(own.query("SELECT name FROM customers WHERE email = 'jose@example.com'")).toEqual([{ name: 'José' }]);
  });
});

describe('import sales, activities and tickets', () => {
  // Two customers (`box`), and the same with s.csv's sales imported (`sold`): read by the tests; a
  // test that writes works on its own copy.
  let box: Sandbox;
  let sold: Sandbox;
  const S_CSV =
    'external_id,customer,product,quantity,amount,date,note\n' +
    'S-1,ada@example.com,Tea set,2,"1,234.50",2025-03-01,first\n' +
    ',+44 20 7946 0000,Cups,,¥12,2025/03/02,\n' +
    ',+44 20 7946 0000,Cups,,¥12,2025/03/02,\n' +
    ',2,Teapot,1,80,2025-03-03,  spaced note  \n';
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
    const file = write(box, 'c.csv', 'name,email,phone\nAda,ada@example.com,+44 20 7946 0000\nBo,bo@example.com,\n');
    box.ok(['import', 'customers', file], { env });
    sold = box.clone();
    sold.ok(['import', 'sales', write(sold, 's.csv', S_CSV)], { env });
  });
  afterAll(() => {
    box?.cleanup();
    sold?.cleanup();
  });

  it('sales: customers by email, phone or id; external ids; re-importing adds nothing', () => {
    const own = copyOf(box);
    const file = write(own, 's.csv', S_CSV);
    const first = own.run(['import', 'sales', file], { env });
    expect(first.code).toBe(0);
    expect(summary(first.stderr)).toEqual({ imported: 4, updated: 0, skipped: 0, rejected: 0 });
    expect(own.query('SELECT customer_id, product, quantity, amount_cents, sold_on, note, external_id FROM sales ORDER BY id')).toEqual([
      { customer_id: 1, product: 'Tea set', quantity: 2, amount_cents: 123450, sold_on: '2025-03-01', note: 'first', external_id: 'S-1' },
      { customer_id: 1, product: 'Cups', quantity: 1, amount_cents: 1200, sold_on: '2025-03-02', note: null, external_id: null },
      { customer_id: 1, product: 'Cups', quantity: 1, amount_cents: 1200, sold_on: '2025-03-02', note: null, external_id: null },
      { customer_id: 2, product: 'Teapot', quantity: 1, amount_cents: 8000, sold_on: '2025-03-03', note: '  spaced note  ', external_id: null },
    ]);
    const before = own.dump();
    const again = own.run(['import', 'sales', file], { env });
    expect(summary(again.stderr)).toEqual({ imported: 0, updated: 0, skipped: 4, rejected: 0 });
    expect(own.dump()).toBe(before);
  });

  it('sales: --on-duplicate update rewrites a sale found by external id and audits it', () => {
    const own = copyOf(sold);
    const file = write(own, 's-update.csv', 'external_id,customer,product,quantity,amount,date\nS-1,bo@example.com,Tea set,3,99.00,2025-03-05\n');
    const result = own.run(['import', 'sales', file, '--on-duplicate', 'update'], { env });
    expect(summary(result.stderr)).toEqual({ imported: 0, updated: 1, skipped: 0, rejected: 0 });
    expect(own.query("SELECT customer_id, quantity, amount_cents, sold_on, note FROM sales WHERE external_id = 'S-1'")).toEqual([
      { customer_id: 2, quantity: 3, amount_cents: 9900, sold_on: '2025-03-05', note: 'first' },
    ]);
    const change = own.query<{ table_name: string; before: string; after: string }>('SELECT table_name, before, after FROM audit_change WHERE log_id = (SELECT max(id) FROM audit_log)');
    expect(change.map((c) => [c.table_name, JSON.parse(c.before).amount_cents, JSON.parse(c.after).amount_cents])).toEqual([['sales', 123450, 9900]]);
  });

  it('sales: an unknown customer, a bad amount and a duplicate external id are invalid rows', () => {
    const before = box.dump();
    const file = write(box, 'bad-sales.csv', 'external_id,customer,product,amount\nX1,nobody@example.com,Tea,5\nX2,ada@example.com,Tea,12.345\nX3,ada@example.com,Tea,1\nX3,ada@example.com,Tea,2\n');
    const result = box.run(['import', 'sales', file], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 2: customer: no customer with email nobody@example.com$/m);
    expect(result.stderr).toMatch(/^line 3: amount: "12.345" has more than 2 decimals$/m);
    expect(result.stderr).toMatch(/^line 5: external_id: duplicate of line 4$/m);
    expect(box.dump()).toBe(before);
  });

  it('sales: rows held back for a batch find their customers by email, in file order, with problems on the right lines', () => {
    const own = copyOf(box);
    // 120 rows, so most go in through the batched insert that looks customers up itself.
    const emails = ['ada@example.com', 'BO@Example.com', 'bo@example.com'];
    const ids: Record<string, number> = { 'ada@example.com': 1, 'bo@example.com': 2 };
    const rows = Array.from({ length: 120 }, (_, i) => ({
      external: i % 9 === 4 ? '' : `B-${i}`, // some rows without an external id take the one-row path
      customer: i === 37 || i === 101 ? 'nobody@example.com' : i % 11 === 0 ? '2' : emails[i % 3]!,
      amount: `${i + 1}.${String(i % 100).padStart(2, '0')}`,
    }));
    rows[70]!.external = 'B-66'; // the same external id as an earlier row of the same batch
    rows[75]!.amount = '12.345'; // found invalid as it is read, while line 72 is still held back
    const file = write(own, 'batch-sales.csv', `external_id,customer,product,amount,date
${rows.map((r, i) => `${r.external},${r.customer},Batch ${i},${r.amount},2025-04-01`).join('\n')}\n`);
    const bad = new Map([
      [39, 'customer: no customer with email nobody@example.com'],
      [72, 'external_id: duplicate of line 68'],
      [77, 'amount: "12.345" has more than 2 decimals'],
      [103, 'customer: no customer with email nobody@example.com'],
    ]);

    const before = own.dump();
    const refused = own.run(['import', 'sales', file], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr.match(/^line \d+: .*$/gm)).toEqual([...bad].map(([line, text]) => `line ${line}: ${text}`));
    expect(own.dump()).toBe(before);

    const rejects = join(own.dir, 'batch-sales-rejects.csv');
    const result = own.run(['import', 'sales', file, '--skip-invalid', '--rejects', rejects], { env });
    expect(result.code).toBe(3);
    expect(summary(result.stderr)).toEqual({ imported: 116, updated: 0, skipped: 0, rejected: 4 });
    expect((parse(readFileSync(rejects, 'utf8'), { columns: true }) as Array<Record<string, string>>).map((r) => [Number(r.line), r.error])).toEqual([...bad]);
    const expected = rows
      .map((r, i) => ({ line: i + 2, r, i }))
      .filter(({ line }) => !bad.has(line))
      .map(({ r, i }) => ({
        customer_id: /^\d+$/.test(r.customer) ? Number(r.customer) : ids[r.customer.toLowerCase()],
        product: `Batch ${i}`,
        amount_cents: (i + 1) * 100 + (i % 100),
        external_id: r.external || null,
      }));
    expect(own.query("SELECT customer_id, product, amount_cents, external_id FROM sales WHERE product LIKE 'Batch %' ORDER BY id")).toEqual(expected);
  });

  it('activities: the contract columns', () => {
    const own = copyOf(box);
    const file = write(own, 'a.csv', 'customer,type,at,direction,summary\nada@example.com,call,2025-05-01 14:30,out,Called about the order\nbo@example.com,email,2025-05-02T08:00:00Z,in,Asked for a discount\n');
    const result = own.run(['import', 'activities', file], { env });
    expect(summary(result.stderr)).toMatchObject({ imported: 2 });
    expect(own.query('SELECT customer_id, type, at, direction, summary FROM activities ORDER BY id')).toEqual([
      { customer_id: 1, type: 'call', at: '2025-05-01T14:30:00.000Z', direction: 'out', summary: 'Called about the order' },
      { customer_id: 2, type: 'email', at: '2025-05-02T08:00:00.000Z', direction: 'in', summary: 'Asked for a discount' },
    ]);
    expect(summary(own.run(['import', 'activities', file], { env }).stderr)).toMatchObject({ imported: 0, skipped: 2 });
  });

  it('tickets: statuses, opened/resolved times and a score become a rating', () => {
    const own = copyOf(box);
    const file = write(
      own,
      't.csv',
      'external_id,customer,subject,description,priority,kind,status,opened,resolved,score\n' +
        'T-1,ada@example.com,Broken lid,The lid cracked,high,complaint,resolved,2025-05-01T08:00:00Z,2025-05-01T12:00:00Z,4\n' +
        'T-2,bo@example.com,Where is my order,,,,,2025-05-03T09:00:00Z,,\n',
    );
    const result = own.run(['import', 'tickets', file], { env });
    expect(result.code).toBe(0);
    expect(own.query('SELECT external_id, customer_id, priority, kind, status, opened_at, due_at, resolved_at FROM tickets ORDER BY id')).toEqual([
      { external_id: 'T-1', customer_id: 1, priority: 'high', kind: 'complaint', status: 'resolved', opened_at: '2025-05-01T08:00:00.000Z', due_at: '2025-05-01T16:00:00.000Z', resolved_at: '2025-05-01T12:00:00.000Z' },
      { external_id: 'T-2', customer_id: 2, priority: 'normal', kind: 'question', status: 'open', opened_at: '2025-05-03T09:00:00.000Z', due_at: '2025-05-04T09:00:00.000Z', resolved_at: null },
    ]);
    expect(own.query('SELECT ticket_id, score, rated_at FROM ticket_ratings')).toEqual([{ ticket_id: 1, score: 4, rated_at: '2025-05-01T12:00:00.000Z' }]);
    expect(summary(own.run(['import', 'tickets', file], { env }).stderr)).toEqual({ imported: 0, updated: 0, skipped: 2, rejected: 0 });
    const closing = write(own, 't-update.csv', 'external_id,customer,subject,status,opened,resolved,score\nT-2,bo@example.com,Where is my order,closed,2025-05-03T09:00:00Z,2025-05-04T10:00:00Z,2\n');
    const updated = own.run(['import', 'tickets', closing, '--on-duplicate', 'update'], { env });
    expect(summary(updated.stderr)).toMatchObject({ updated: 1 });
    expect(own.query("SELECT status, resolved_at, closed_at FROM tickets WHERE external_id = 'T-2'")).toEqual([
      { status: 'closed', resolved_at: '2025-05-04T10:00:00.000Z', closed_at: '2025-05-04T10:00:00.000Z' },
    ]);
    expect(own.query('SELECT ticket_id, score FROM ticket_ratings WHERE ticket_id = 2')).toEqual([{ ticket_id: 2, score: 2 }]);
    const changes = own.query<{ table_name: string; op: string }>('SELECT table_name, op FROM audit_change WHERE log_id = (SELECT max(id) FROM audit_log)');
    expect(changes).toEqual([{ table_name: 'tickets', op: 'update' }]);
    // Each imported ticket's history starts with its opening, as one opened with `ticket open` does.
    const events = own.query<{ ticket_id: number; at: string; kind: string; to_value: string; comment: string }>('SELECT ticket_id, at, kind, to_value, comment FROM ticket_events ORDER BY id');
    expect(events.map((e) => [e.ticket_id, e.at, e.kind, e.to_value])).toEqual([
      [1, '2025-05-01T08:00:00.000Z', 'opened', 'open'],
      [2, '2025-05-03T09:00:00.000Z', 'opened', 'open'],
    ]);
    expect(events[0]!.comment).toBe(`imported from ${file}`);
    const bad = write(own, 't-bad.csv', 'customer,subject,status,score\nada@example.com,Rate me,open,5\n');
    const refused = own.run(['import', 'tickets', bad], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^line 2: score: cannot rate a ticket that is open$/m);
  });
});

describe('rows stamped with the time of the import', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
    box.ok(['import', 'customers', write(box, 'c.csv', 'name,email\nAda,ada@example.com\n')], { env });
  });
  afterAll(() => box.cleanup());

  it('activities without an at time are recorded now, with a warning that a re-import adds them again', () => {
    const own = copyOf(box);
    const file = write(own, 'a.csv', 'customer,type,summary\nada@example.com,call,Called\nada@example.com,note,Noted\n');
    const result = own.run(['import', 'activities', file], { env });
    expect(result.code).toBe(0);
    expect(summary(result.stderr)).toMatchObject({ imported: 2 });
    expect(result.stderr).toMatch(/^warning: 2 activities have no "at" time: they were stamped with the time of this import, so importing the same rows again would add them again/m);
    expect(own.query('SELECT DISTINCT at FROM activities')).toEqual([{ at: new Date(NOW).toISOString() }]);
    const timed = own.run(['import', 'activities', write(own, 'a2.csv', 'customer,type,at,summary\nada@example.com,call,2025-05-01T10:00:00Z,Called\n')], { env });
    expect(timed.stderr).not.toMatch(/warning/);
  });

  it('tickets without opened or external_id warn the same way; --format json counts them; undo removes their history too', () => {
    const own = copyOf(box);
    // The undo itself is recorded (in the audit trail and the export change log); the data tables are as they were.
    const data = () =>
      tableNames(own)
        .filter((t) => !t.startsWith('audit') && !t.startsWith('row_change'))
        .map((t) => `${t}\n${JSON.stringify(own.query(`SELECT * FROM ${t} ORDER BY 1`))}`)
        .join('\n');
    const before = data();
    const file = write(own, 't.csv', 'customer,subject\nada@example.com,Broken cup\n');
    const result = own.run(['import', 'tickets', file, '--format', 'json'], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ imported: 1, stamped_now: 1 });
    expect(result.stderr).toMatch(/^warning: 1 ticket has no "opened" time or "external_id": it was stamped with the time of this import/m);
    expect(own.query('SELECT kind, at FROM ticket_events')).toEqual([{ kind: 'opened', at: new Date(NOW).toISOString() }]);
    const auditId = JSON.parse(result.stdout).audit_id as number;
    expect(own.run(['undo', String(auditId), '--yes'], { env }).code).toBe(0);
    expect(own.query('SELECT count(*) AS n FROM ticket_events')).toEqual([{ n: 0 }]);
    expect(own.query('SELECT count(*) AS n FROM tickets')).toEqual([{ n: 0 }]);
    expect(data()).toBe(before);
  });
});

describe('export', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
    const customers = write(
      box,
      'c.csv',
      'name,email,phone,age,gender,company,city,source,tags,created,field.plan,field.note\n' +
        'Li Wei,li@example.com,+86 138 0013 8000,34,male,"Tea, ""Best"" Ltd",Shanghai,web,vip;b2b,2024-01-02T03:04:05Z,gold,\n' +
        '=cmd|calc,formula@example.com,,,,@risk,-negative,+plus,,2024-02-01T00:00:00Z,,"multi\nline"\n' +
        'Plain,plain@example.com,,,,,,,,2024-03-01T00:00:00Z,,\n',
    );
    box.ok(['import', 'customers', customers], { env });
    box.ok(['import', 'sales', write(box, 's.csv', 'external_id,customer,product,quantity,amount,date,note\nS1,li@example.com,Tea,2,-0,2025-01-01,=1+1\n,plain@example.com,Cup,1,5.5,2025-01-02,\n')], { env });
    box.ok(['import', 'activities', write(box, 'a.csv', 'customer,type,at,direction,summary\nli@example.com,meeting,2025-01-03T10:00:00Z,,Met at the fair\n')], { env });
    box.ok(['import', 'tickets', write(box, 't.csv', 'external_id,customer,subject,status,opened,resolved,score\nT1,plain@example.com,Help,closed,2025-01-04T10:00:00Z,2025-01-05T10:00:00Z,5\n')], { env });
  });
  afterAll(() => box.cleanup());

  it('writes RFC 4180 CSV in the import columns, neutralising formulas; csv-parse reads it back', () => {
    const result = box.run(['export', 'customers'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('name,email,phone,age,gender,company,city,source,tags,created,external_id,field.note,field.plan\r\n')).toBe(true);
    const rows = parse(result.stdout, { columns: true });
    expect(rows).toEqual([
      { name: 'Li Wei', email: 'li@example.com', phone: '+86 138 0013 8000', age: '34', gender: 'male', company: 'Tea, "Best" Ltd', city: 'Shanghai', source: 'web', tags: 'b2b;vip', created: '2024-01-02T03:04:05Z', external_id: '', 'field.note': '', 'field.plan': 'gold' },
      { name: "'=cmd|calc", email: 'formula@example.com', phone: '', age: '', gender: '', company: "'@risk", city: "'-negative", source: "'+plus", tags: '', created: '2024-02-01T00:00:00Z', external_id: '', 'field.note': 'multi\nline', 'field.plan': '' },
      { name: 'Plain', email: 'plain@example.com', phone: '', age: '', gender: '', company: '', city: '', source: '', tags: '', created: '2024-03-01T00:00:00Z', external_id: '', 'field.note': '', 'field.plan': '' },
    ]);
  });

  it('--bom starts the file with a UTF-8 BOM and --output writes it atomically', () => {
    const out = join(box.dir, 'out.csv');
    const result = box.run(['export', 'sales', '--bom', '--output', out], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const bytes = readFileSync(out);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString('utf8')).toBe('external_id,customer,product,quantity,amount,date,note,order_id,sku,unit_price,refund_of\r\nS1,li@example.com,Tea,2,0.00,2025-01-01,\'=1+1,,,,\r\n,plain@example.com,Cup,1,5.50,2025-01-02,,,,,\r\n');
  });

  it('json and ndjson keep values as they are, with money in cents beside the decimal', () => {
    const json = JSON.parse(box.ok(['export', 'sales', '--format', 'json'], { env }));
    expect(json[1]).toEqual({ external_id: null, customer: 'plain@example.com', product: 'Cup', quantity: 1, amount: '5.50', amount_cents: 550, date: '2025-01-02', note: null, order_id: null, sku: null, unit_price: null, unit_price_cents: null, refund_of: null });
    const lines = box.ok(['export', 'customers', '--format', 'ndjson'], { env }).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[1].name).toBe('=cmd|calc');
    const tickets = box.ok(['export', 'tickets', '--format', 'json'], { env });
    expect(JSON.parse(tickets)).toEqual([
      { external_id: 'T1', customer: 'plain@example.com', subject: 'Help', description: null, priority: 'normal', kind: 'question', status: 'closed', opened: '2025-01-04T10:00:00Z', resolved: '2025-01-05T10:00:00Z', score: 5 },
    ]);
  });

  it('lists each customer\'s tags sorted case-insensitively, as SQLite orders them, and none for the untagged', () => {
    const other = sandbox();
    try {
      other.ok(['init']);
      other.ok(['import', 'customers', write(other, 'tags.csv', 'name,email,tags\nA,a@example.com,Zeta;alpha;Beta\nB,b@example.com,\nC,c@example.com,beta\n')], { env });
      other.ok(['customer', 'add', '--name', 'D', '--email', 'd@example.com', '--tag', 'Zeta'], { env });
      const rows = parse(other.ok(['export', 'customers'], { env }), { columns: true }) as Array<Record<string, string>>;
      expect(rows.map((r) => `${r.email} ${r.tags}`)).toEqual(['a@example.com alpha;Beta;Zeta', 'b@example.com ', 'c@example.com Beta', 'd@example.com Zeta']);
    } finally {
      other.cleanup();
    }
  });

  it('merges tags by customer across thousands of customers, whole and for a segment', () => {
    const other = sandbox();
    try {
      other.ok(['init']);
      const tagSets = [[], ['vip'], ['b2b', 'Alpha'], ['zeta', 'Beta', 'alpha2']];
      const lines = ['name,email,city,tags'];
      const expected = new Map<string, string>();
      for (let i = 0; i < 20_000; i++) {
        const tags = tagSets[(i * 7) % 11 % tagSets.length]!;
        lines.push(`C${i},c${i}@example.com,${i % 3 === 0 ? 'Xian' : 'Other'},${tags.join(';')}`);
        expected.set(`c${i}@example.com`, [...tags].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())).join(';'));
      }
      other.ok(['import', 'customers', write(other, 'many.csv', lines.join('\n') + '\n')], { env });
      const all = parse(other.ok(['export', 'customers'], { env }), { columns: true }) as Array<Record<string, string>>;
      expect(all).toHaveLength(20_000);
      for (const row of all) expect(row.tags).toBe(expected.get(row.email!));
      other.ok(['segment', 'create', 'xian', '--where', 'city = "Xian"'], { env });
      const some = parse(other.ok(['export', 'customers', '--segment', 'xian'], { env }), { columns: true }) as Array<Record<string, string>>;
      expect(some.map((r) => r.email)).toEqual(Array.from({ length: 6667 }, (_, k) => `c${k * 3}@example.com`));
      for (const row of some) expect(row.tags).toBe(expected.get(row.email!));
    } finally {
      other.cleanup();
    }
  });

  it('exports thousands of sales a page at a time, in id order, leaving out the voided ones', () => {
    const other = sandbox();
    try {
      other.ok(['init']);
      other.ok(['import', 'customers', write(other, 'two.csv', 'name,email\nA,a@example.com\nB,b@example.com\n')], { env });
      const sales = Array.from({ length: 3000 }, (_, i) => ({ id: `P-${i}`, customer: i % 2 ? 'a@example.com' : 'b@example.com', amount: `${i}.${String(i % 100).padStart(2, '0')}` }));
      other.ok(['import', 'sales', write(other, 'many-sales.csv', `external_id,customer,product,amount,date\n${sales.map((x) => `${x.id},${x.customer},Tea,${x.amount},2025-01-02`).join('\n')}\n`)], { env });
      other.exec("UPDATE sales SET voided_at = '2025-02-01T00:00:00.000Z', void_reason = 'test' WHERE id % 7 = 0");
      const rows = parse(other.ok(['export', 'sales'], { env }), { columns: true }) as Array<Record<string, string>>;
      // Sale ids follow the file (1 = P-0), so every 7th id is the (id - 1)th row.
      const expected = sales.filter((_, i) => (i + 1) % 7 !== 0);
      expect(rows.map((r) => [r.external_id, r.customer, r.amount])).toEqual(expected.map((x) => [x.id, x.customer, x.amount]));
    } finally {
      other.cleanup();
    }
  });

  it('rejects a table format as a usage error', () => {
    const result = box.run(['export', 'customers', '--format', 'table'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --format table is not available here/m);
  });

  it('exports deals', () => {
    const own = copyOf(box);
    own.exec("INSERT INTO deals (customer_id, title, value_cents, stage, probability, close_date, created_at, updated_at) VALUES (1, 'Big order', 990000, 'proposal', 50, '2025-07-01', '2025-06-01T09:00:00.000Z', '2025-06-01T09:00:00.000Z')");
    const rows = parse(own.ok(['export', 'deals'], { env }), { columns: true });
    expect(rows).toEqual([
      { id: '1', customer: 'li@example.com', title: 'Big order', value: '9900.00', stage: 'proposal', probability: '50', close_date: '2025-07-01', lost_reason: '', won_sale_id: '', created: '2025-06-01T09:00:00Z', updated: '2025-06-01T09:00:00Z' },
    ]);
  });

  it('round-trips: export, import into a fresh database, export again gives the same files', () => {
    const other = sandbox();
    try {
      other.ok(['init']);
      for (const kind of ['customers', 'sales', 'activities', 'tickets']) {
        const file = join(box.dir, `${kind}-export.csv`);
        box.ok(['export', kind, '--output', file], { env });
        const result = other.run(['import', kind, file], { env });
        expect(result.code, result.stderr).toBe(0);
        const again = other.ok(['export', kind], { env });
        expect(again).toBe(readFileSync(file, 'utf8'));
      }
    } finally {
      other.cleanup();
    }
  });
});

describe('one transaction per import', () => {
  let box: Sandbox;
  let big: string;
  const ROWS = 150_000;
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
    box.ok(['customer', 'add', '--name', 'Before', '--email', 'before@example.com'], { env });
    const lines = [CUSTOMERS_HEADER];
    for (let i = 0; i < ROWS; i++) lines.push(`Customer ${i},c${i}@example.com,+86 139 ${String(i).padStart(8, '0')},${20 + (i % 50)},f,Co ${i % 97},City ${i % 13},web,vip;t${i % 7},2024-01-01`);
    big = write(box, 'big.csv', lines.join('\n') + '\n');
  });
  afterAll(() => box.cleanup());

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /**
   * Whether an import's transaction is open on the sandbox's database: on SQLite it holds the write
   * lock, on PostgreSQL its advisory lock for the kind.
   */
  const importRunning = (own: Sandbox): (() => boolean) & { close(): void } => {
    if (ON_POSTGRES) {
      return Object.assign(() => own.query<{ n: number }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")[0]!.n > 0, { close: () => undefined });
    }
    const probe = openDb(own.dbPath, { timeout: 0 });
    const locked = () => {
      try {
        probe.exec('BEGIN IMMEDIATE');
        probe.exec('ROLLBACK');
        return false;
      } catch {
        return true;
      }
    };
    return Object.assign(locked, { close: () => probe.close() });
  };

  it('kill -9 in the middle leaves the database exactly as it was', async () => {
    const { spawnCrm } = await import('../helpers/cli.js');
    const before = box.dump();
    const child = spawnCrm(['--db', box.dbPath, 'import', 'customers', big], { env });
    let exited = false;
    child.on('exit', () => (exited = true));
    // Wait until the import holds the write lock (its transaction is open), then a little longer.
    const locked = importRunning(box);
    while (!exited && !locked()) await sleep(20);
    locked.close();
    await sleep(300);
    expect(exited, 'the import finished before it could be killed: make the file bigger').toBe(false);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    if (ON_POSTGRES) {
      // The server ends the killed client's session (and rolls its transaction back) once it notices.
      while (box.query<{ n: number }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")[0]!.n > 0) await sleep(50);
    }
    expect(box.dump()).toBe(before);
    if (!ON_POSTGRES) {
      const db = openDb(box.dbPath);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    }
  });

  it('a big import defers indexes, builds the lookup ones back when a row needs them, and ends with all of them', () => {
    const own = copyOf(box);
    const lines = [CUSTOMERS_HEADER];
    for (let i = 0; i < 60_000; i++) lines.push(`Big ${i},big${i}@example.com,+49 30 ${String(i).padStart(7, '0')},,,,Berlin,,,`);
    lines.push('Big again,,+49 30 0000010,,,,,,,'); // no email: matched on the phone of line 12
    const file = write(own, 'deferred.csv', lines.join('\n') + '\n');
    const indexes = () =>
      (ON_POSTGRES
        ? own.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'crm' ORDER BY indexname")
        : own.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
      ).map((r) => r.name);
    const before = indexes();
    const refused = own.run(['import', 'customers', file], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^line 60002: phone: duplicate of line 12$/m);
    expect(indexes()).toEqual(before);
    const result = own.run(['import', 'customers', file, '--on-duplicate', 'skip'], { env });
    expect(summary(result.stderr)).toEqual({ imported: 60_000, updated: 0, skipped: 1, rejected: 0 });
    expect(indexes()).toEqual(before);
    expect(own.query("SELECT count(*) AS n FROM customers WHERE city = 'Berlin'")).toEqual([{ n: 60_000 }]);
  });

  it('a concurrent reader sees none or all of the import and never fails on a lock', async () => {
    const own = copyOf(box);
    const { spawnCrm, runCrm } = await import('../helpers/cli.js');
    const base = own.query<{ n: number }>('SELECT count(*) AS n FROM customers')[0]!.n;
    const child = spawnCrm(['--db', own.dbPath, 'import', 'customers', big], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let finished = false;
    const done = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
    void done.then(() => (finished = true));
    // Read only while the import holds the write lock, i.e. in the middle of its transaction.
    const locked = importRunning(own);
    while (!finished && !locked()) await sleep(10);
    const seen = new Set<number>();
    let readsDuringImport = 0;
    while (!finished && locked()) {
      seen.add(own.query<{ n: number }>('SELECT count(*) AS n FROM customers')[0]!.n);
      if (readsDuringImport++ % 5 === 0) {
        const exported = runCrm(['--db', own.dbPath, 'export', 'customers', '--format', 'ndjson'], { env });
        expect(exported.code, exported.stderr).toBe(0);
        seen.add(exported.stdout.trim().split('\n').length);
      }
      await sleep(20);
    }
    locked.close();
    expect(await done, stderr).toBe(0);
    expect(readsDuringImport).toBeGreaterThan(0);
    // Every read saw the database before the import, or (a read racing the commit) all of it.
    for (const n of seen) expect([base, base + ROWS]).toContain(n);
    expect(own.query('SELECT count(*) AS n FROM customers')).toEqual([{ n: base + ROWS }]);
  });
});
