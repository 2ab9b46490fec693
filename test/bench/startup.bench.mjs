// Start-up (issues 3 and 19): `crm --version` and a small `customer list` against bare `node -e ''`,
// each the median of 15 interleaved pairs (crm, then node), so a busy machine slows both sides alike.
import { benchDatabase } from './fixtures.mjs';
import { benchLine, CRM, measure } from './lib.mjs';

const RUNS = 15;
const db = benchDatabase({ customers: 10_000 });

/** Median seconds of each side over `RUNS` interleaved pairs (after one warm-up pair), and crm's peak RSS. */
function pairs(args) {
  const bare = ['-e', ''];
  measure(process.execPath, args);
  measure(process.execPath, bare);
  const ours = [];
  const base = [];
  let rss = 0;
  for (let i = 0; i < RUNS; i++) {
    const m = measure(process.execPath, args);
    ours.push(m.seconds);
    rss = Math.max(rss, m.rssMb);
    base.push(measure(process.execPath, bare).seconds);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { ours: median(ours), base: median(base), rss };
}

const version = pairs([CRM, '--version']);
benchLine('startup-version', version.ours, version.base, 1.4, version.rss);
const list = pairs([CRM, '--db', db, 'customer', 'list', '--limit', '20', '--format', 'csv']);
benchLine('startup-customer-list', list.ours, list.base, 1.8, list.rss);
