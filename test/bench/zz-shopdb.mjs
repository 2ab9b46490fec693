// temporary: builds the shop bench's base database with 1% changes and keeps it
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { customersCsv, salesCsv } from './fixtures.mjs';
import { DATA, ROOT } from './lib.mjs';
const N = 1_000_000;
const customers = await customersCsv(N, 1, { externalIds: true });
const sales = await salesCsv(N, N);
const db = `${DATA}keep-shop-base.db`;
for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
const crm = (...a) => execFileSync(process.execPath, [`${ROOT}bin/crm.js`, '--db', db, ...a], { stdio: 'ignore' });
crm('init'); crm('import', 'customers', customers); crm('import', 'sales', sales);
const cursorRun = spawnSync(process.execPath, [`${ROOT}bin/crm.js`, '--db', db, 'export', 'deals'], { encoding: 'utf8' });
const cursor = /^cursor: (\S+)$/m.exec(cursorRun.stderr)?.[1];
const [header, ...rows] = readFileSync(sales, 'utf8').trimEnd().split('\n');
const changedRows = [];
for (let i = 0; i < rows.length; i += 200) { const cells = rows[i].split(','); cells[4] = (Number(cells[4]) + 1).toFixed(2); changedRows.push(cells.join(',')); cells[0] = `NEW-${cells[0]}`; changedRows.push(cells.join(',')); }
const changes = `${DATA}keep-shop-changes.csv`;
writeFileSync(changes, `${header}\n${changedRows.join('\n')}\n`);
crm('import', 'sales', changes, '--on-duplicate', 'update');
execFileSync('sqlite3', [db, 'PRAGMA wal_checkpoint(TRUNCATE);']);
writeFileSync(`${DATA}keep-shop-cursor.txt`, cursor);
console.log('done', cursor);
