// Which backend a `--db` / CRM_DB value names, and a PostgreSQL URL read the way libpq reads it:
// postgres://[user[:password]@]host[:port]/dbname[?sslmode=…&sslrootcert=…], each part missing from
// the URL taken from PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE PGSSLROOTCERT, then
// libpq's defaults; a password from neither comes from ~/.pgpass (or PGPASSFILE) when connecting.
// Loads no driver: `crm --version` and every SQLite command import this without loading `pg`.
import { userInfo } from 'node:os';
import { ValidationError } from '../domain/errors.js';

const PG_SCHEMES = /^postgres(ql)?:\/\//i;
const ANY_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** True for postgres:// and postgresql:// URLs. */
export function isPostgresUrl(target: string): boolean {
  return PG_SCHEMES.test(target);
}

/**
 * Refuses `scheme://…` values that are not PostgreSQL URLs (a misspelt `postgress://` would
 * otherwise become a folder named `postgress:` holding a new SQLite file).
 */
export function checkDatabaseTarget(target: string): void {
  const scheme = ANY_SCHEME.exec(target);
  if (scheme && !isPostgresUrl(target)) {
    throw new ValidationError(`unknown database URL scheme "${scheme[1]}://"`, {
      hint: 'use postgres://user@host:port/dbname for PostgreSQL, or a file path for SQLite',
    });
  }
}

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  /** From the URL or PGPASSWORD; undefined means ~/.pgpass is asked when connecting. */
  password: string | undefined;
  database: string;
  sslmode: SslMode;
  sslrootcert: string | undefined;
  /** The URL to show people: never the password. */
  display: string;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ValidationError(`the database URL's ${what} is not valid percent-encoding`);
  }
}

/** True when the URL itself carries a password (`user:secret@host`). */
export function urlHasPassword(url: string): boolean {
  const authority = url.replace(PG_SCHEMES, '').split(/[/?#]/, 1)[0] ?? '';
  const at = authority.lastIndexOf('@');
  return (at >= 0 && authority.slice(0, at).includes(':')) || /[?&]password=/.test(url);
}

export function parsePostgresUrl(url: string, env: NodeJS.ProcessEnv): PostgresTarget {
  const rest = url.replace(PG_SCHEMES, '');
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const afterAuthority = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  const userInfoPart = at >= 0 ? authority.slice(0, at) : '';
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const colon = userInfoPart.indexOf(':');
  const urlUser = colon >= 0 ? userInfoPart.slice(0, colon) : userInfoPart;
  const urlPassword = colon >= 0 ? userInfoPart.slice(colon + 1) : undefined;

  let urlHost = hostPort;
  let urlPort: string | undefined;
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(hostPort);
  if (bracket) {
    urlHost = bracket[1]!;
    urlPort = bracket[2];
  } else if (hostPort.includes(',')) {
    throw new ValidationError('a database URL with several hosts is not supported', { hint: 'name one host' });
  } else if (hostPort.includes(':')) {
    urlHost = hostPort.slice(0, hostPort.lastIndexOf(':'));
    urlPort = hostPort.slice(hostPort.lastIndexOf(':') + 1);
  }

  const queryStart = afterAuthority.indexOf('?');
  const path = (queryStart < 0 ? afterAuthority : afterAuthority.slice(0, queryStart)).replace(/#.*$/, '');
  const params = new URLSearchParams(queryStart < 0 ? '' : afterAuthority.slice(queryStart + 1).replace(/#.*$/, ''));
  for (const key of params.keys()) {
    if (!['sslmode', 'sslrootcert', 'host', 'port', 'user', 'dbname', 'password', 'connect_timeout', 'application_name'].includes(key)) {
      throw new ValidationError(`unknown parameter "${key}" in the database URL`, { hint: 'crm reads sslmode, sslrootcert, host, port, user, dbname' });
    }
  }

  const portText = params.get('port') ?? (urlPort !== undefined && urlPort !== '' ? urlPort : undefined) ?? env.PGPORT ?? '5432';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ValidationError(`bad port "${portText}" in the database URL`, { hint: 'a port is a number from 1 to 65535, e.g. postgres://db.example.com:5432/crm' });
  }

  const host = params.get('host') ?? (urlHost ? decode(urlHost, 'host') : undefined) ?? env.PGHOST ?? 'localhost';
  let osUser = 'postgres';
  try {
    osUser = userInfo().username;
  } catch {
    osUser = env.USER || env.LOGNAME || osUser;
  }
  const user = params.get('user') ?? (urlUser ? decode(urlUser, 'user name') : undefined) ?? env.PGUSER ?? osUser;
  const password = params.get('password') ?? (urlPassword !== undefined ? decode(urlPassword, 'password') : undefined) ?? env.PGPASSWORD;
  const pathName = path.replace(/^\//, '');
  const database = params.get('dbname') ?? (pathName ? decode(pathName, 'database name') : undefined) ?? env.PGDATABASE ?? user;

  const modeText = params.get('sslmode') ?? env.PGSSLMODE ?? 'prefer';
  if (!SSL_MODES.includes(modeText as SslMode)) {
    throw new ValidationError(`unknown sslmode "${modeText}"`, { hint: `use one of: ${SSL_MODES.join(', ')}` });
  }
  const sslrootcert = params.get('sslrootcert') ?? env.PGSSLROOTCERT;

  const shownHost = host.includes(':') ? `[${host}]` : host;
  const display = `postgres://${encodeURIComponent(user)}@${shownHost}:${port}/${encodeURIComponent(database)}${params.has('sslmode') ? `?sslmode=${modeText}` : ''}`;
  return { host, port, user, password, database, sslmode: modeText as SslMode, sslrootcert, display };
}
