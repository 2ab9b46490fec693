// Start-up (issue 3): `crm --version` and a small `customer list` against bare `node -e ''`.
import { benchDatabase } from './fixtures.mjs';
import { benchLine, CRM, median } from './lib.mjs';

const RUNS = 15;
const db = benchDatabase({ customers: 10_000 });
const bare = median(process.execPath, ['-e', ''], RUNS);
const version = median(process.execPath, [CRM, '--version'], RUNS);
benchLine('startup-version', version.seconds, bare.seconds, 1.8, version.rssMb);
const list = median(process.execPath, [CRM, '--db', db, 'customer', 'list', '--limit', '20', '--format', 'csv'], RUNS);
benchLine('startup-customer-list', list.seconds, bare.seconds, 1.8, list.rssMb);
