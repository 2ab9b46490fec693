// TLS to the PostgreSQL server (issue 15, item 6): a throwaway server of its own
// (scripts/pg-test-server.sh) with a certificate this test makes, signed by a CA it makes too;
// crm connects with sslmode=verify-full and that CA, and refuses a server whose certificate
// another CA signed. The shared test server is left alone (its tests expect no TLS there).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_TEST_URL, runCrm } from '../helpers/cli.js';

const SCRIPT = new URL('../../scripts/pg-test-server.sh', import.meta.url).pathname;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe.skipIf(!PG_TEST_URL || !hasOpenssl)('PostgreSQL over TLS with sslmode=verify-full', () => {
  const work = mkdtempSync(join(tmpdir(), 'crm-tls-'));
  let serverDir = '';
  let env: Record<string, string> = {};

  /** A CA and, when `host` is given, a server key and certificate it signs for that host. */
  const makeCa = (name: string) => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', join(work, `${name}.key`), '-out', join(work, `${name}.crt`)], { stdio: 'ignore' });
    return join(work, `${name}.crt`);
  };

  beforeAll(() => {
    const ca = makeCa('crm-test-ca');
    makeCa('other-ca');
    writeFileSync(join(work, 'san.ext'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\n');
    execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', join(work, 'server.key'), '-out', join(work, 'server.csr')], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', join(work, 'server.csr'), '-CA', ca, '-CAkey', join(work, 'crm-test-ca.key'), '-CAcreateserial', '-days', '2', '-extfile', join(work, 'san.ext'), '-out', join(work, 'server.crt')], { stdio: 'ignore' });
    const started = execFileSync('bash', [SCRIPT, 'start'], { encoding: 'utf8', env: { ...process.env, CRM_TEST_PG_DIR: '' }, stdio: ['ignore', 'pipe', 'ignore'] });
    for (const match of started.matchAll(/^export (\w+)='?([^'\n]*)'?$/gm)) env[match[1]!] = match[2]!;
    serverDir = env.CRM_TEST_PG_DIR!;
    // The server's key must belong to the user running it (`nobody` when the tests run as root).
    for (const file of ['server.key', 'server.crt']) {
      copyFileSync(join(work, file), join(serverDir, file));
      chmodSync(join(serverDir, file), 0o600);
      if (process.getuid?.() === 0) {
        const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
        chownSync(join(serverDir, file), nobody, -1);
      }
    }
    const psql = (statement: string) =>
      execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', statement], { env: { ...process.env, ...env }, encoding: 'utf8' });
    psql(`ALTER SYSTEM SET ssl_cert_file = '${join(serverDir, 'server.crt')}'`);
    psql(`ALTER SYSTEM SET ssl_key_file = '${join(serverDir, 'server.key')}'`);
    psql('ALTER SYSTEM SET ssl = on');
    psql('SELECT pg_reload_conf()');
    for (let i = 0; i < 50 && psql('SHOW ssl').trim() !== 'on'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }, 120_000);

  afterAll(() => {
    if (serverDir) spawnSync('bash', [SCRIPT, 'stop'], { env: { ...process.env, CRM_TEST_PG_DIR: serverDir }, stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });

  const crm = (query: string, args: string[]) =>
    runCrm(['--db', `postgres://${env.PGUSER}@localhost:${env.PGPORT}/postgres?${query}`, ...args], {
      cwd: work,
      env: { PGHOST: env.PGHOST, PGPORT: env.PGPORT, PGUSER: env.PGUSER, PGPASSWORD: env.PGPASSWORD, PGDATABASE: 'postgres' },
    });

  it('connects with verify-full and the CA that signed the server certificate, over TLS', () => {
    const result = crm(`sslmode=verify-full&sslrootcert=${join(work, 'crm-test-ca.crt')}`, ['init']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const who = crm(`sslmode=verify-full&sslrootcert=${join(work, 'crm-test-ca.crt')}`, ['whoami', '--format', 'json']);
    expect(JSON.parse(who.stdout).whoami).toEqual({ user: env.PGUSER, role: 'owner', own_only: 'no', backend: 'postgresql' });
  });

  it('refuses a server whose certificate another CA signed: one line, exit 1', () => {
    const result = crm(`sslmode=verify-full&sslrootcert=${join(work, 'other-ca.crt')}`, ['whoami']);
    expect(result.stderr).toMatch(/^error: the PostgreSQL server's certificate at localhost:\d+ was not accepted \(sslmode=verify-full\)/);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(result.code).toBe(1);
  });
});
