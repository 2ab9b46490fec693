// Shared benchmark helpers: timing child processes, peak RSS, the sqlite3 shell baseline, and the
// one `BENCH …` line each measure ends with.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CRM = fileURLToPath(new URL('../../bin/crm.js', import.meta.url));
export const DATA = fileURLToPath(new URL('./.data/', import.meta.url));
mkdirSync(DATA, { recursive: true });

/** Installs the sqlite3 shell from Debian's packages when it is missing. */
export function ensureSqlite3() {
  if (spawnSync('sqlite3', ['-version']).status === 0) return;
  console.error('bench: installing the sqlite3 shell (apt-get install sqlite3)…');
  execFileSync('bash', ['-c', 'apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null'], { stdio: 'inherit' });
}

function hasGnuTime() {
  return existsSync('/usr/bin/time');
}

/**
 * Runs a command once; returns wall seconds and peak RSS in MB (from /usr/bin/time -v when
 * available). Throws when the command fails.
 */
export function measure(command, args, { input, env, stdout = 'ignore' } = {}) {
  const useTime = hasGnuTime();
  const [cmd, argv] = useTime ? ['/usr/bin/time', ['-v', command, ...args]] : [command, args];
  const start = process.hrtime.bigint();
  const result = spawnSync(cmd, argv, {
    input,
    env: { ...process.env, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', stdout, 'pipe'],
    maxBuffer: 1 << 30,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const stderr = result.stderr?.toString() ?? '';
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  // CPU time (user + system) varies far less than wall time on a busy shared machine.
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  const cpuSeconds = user && system ? Number(user[1]) + Number(system[1]) : NaN;
  return { seconds, rssMb: rss ? Number(rss[1]) / 1024 : NaN, cpuSeconds, stdout: result.stdout };
}

/** Median wall time of `runs` runs (after one warm-up). */
export function median(command, args, runs = 10, options = {}) {
  measure(command, args, options);
  const times = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const m = measure(command, args, options);
    times.push(m.seconds);
    rss = Math.max(rss, m.rssMb);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)], rssMb: rss };
}

/** A comment line with the CPU seconds of both sides, printed before a BENCH line. */
export function cpuLine(name, ours, baseline) {
  if (!Number.isFinite(ours.cpuSeconds) || !Number.isFinite(baseline.cpuSeconds)) return;
  console.log(`# ${name} cpu ours=${ours.cpuSeconds.toFixed(2)} baseline=${baseline.cpuSeconds.toFixed(2)} ratio=${(ours.cpuSeconds / baseline.cpuSeconds).toFixed(2)}`);
}

/** Prints the one line every measure ends with. */
export function benchLine(name, ours, baseline, target, rssMb) {
  const ratio = ours / baseline;
  const line = `BENCH ${name} ours=${ours.toFixed(3)} baseline=${baseline.toFixed(3)} ratio=${ratio.toFixed(2)} target=${target} rss_mb=${Number.isFinite(rssMb) ? rssMb.toFixed(0) : 'NA'}`;
  console.log(line);
  return { name, ours, baseline, ratio, target, rssMb, ok: ratio <= target };
}

/** Runs crm with arguments; returns the measurement. */
export function crm(args, options) {
  return measure(process.execPath, [CRM, ...args], options);
}

/**
 * The PostgreSQL test server the PostgreSQL benches run against (CRM_TEST_PG_URL, from
 * scripts/pg-test-server.sh): a URL per database name and psql on one. Without a server the
 * bench says so and exits 0.
 */
export function pgServer(bench) {
  const admin = process.env.CRM_TEST_PG_URL;
  if (!admin) {
    console.log(`# ${bench} skipped: no PostgreSQL server (set CRM_TEST_PG_URL, e.g. source the pg test server env)`);
    process.exit(0);
  }
  const urlFor = (name) => {
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const psql = (database, sql, extra = []) => {
    const r = spawnSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', urlFor(database), ...extra, '-c', sql], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}\n${sql}`);
    return r.stdout;
  };
  return { urlFor, psql };
}
