// The pure parts of duplicate detection: matching keys for emails, phones and names, the
// Jaro-Winkler string metric, and the scores a reason is worth. No I/O: the service feeds rows in.

/** Mail providers known to ignore `+tag` suffixes (and, for Gmail, dots) in the local part. */
const PLUS_TAG_PROVIDERS: ReadonlySet<string> = new Set([
  'gmail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'icloud.com', 'me.com', 'mac.com',
  'protonmail.com', 'proton.me', 'pm.me', 'fastmail.com', 'fastmail.fm', 'zoho.com', 'yandex.com', 'yandex.ru',
  'gmx.de', 'gmx.net', 'web.de', 'qq.com', 'foxmail.com', '163.com', '126.com', 'yeah.net', 'sina.com', 'aliyun.com',
]);
const DOMAIN_ALIASES: Readonly<Record<string, string>> = { 'googlemail.com': 'gmail.com' };

/**
 * The key two emails share when they reach the same mailbox: lower case; googlemail.com is
 * gmail.com; Gmail ignores dots and `+tag`; other common providers ignore `+tag`. Unknown domains
 * keep their local part (only case is folded). Returns null for something that is not an email.
 */
export function emailKey(email: string | null | undefined): string | null {
  if (!email) return null;
  const value = email.trim().toLowerCase();
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return null;
  let local = value.slice(0, at);
  let domain = value.slice(at + 1);
  domain = DOMAIN_ALIASES[domain] ?? domain;
  if (PLUS_TAG_PROVIDERS.has(domain)) {
    const plus = local.indexOf('+');
    if (plus > 0) local = local.slice(0, plus);
  }
  if (domain === 'gmail.com') local = local.replace(/\./g, '');
  if (!local) return null;
  return `${local}@${domain}`;
}

/** Country calling codes we strip from international numbers (longest first when matching). */
const COUNTRY_CODES = ['852', '853', '886', '1', '7', '20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49', '51', '52', '54', '55', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86', '90', '91', '92', '971', '966', '972'];
const BY_LENGTH = [...COUNTRY_CODES].sort((a, b) => b.length - a.length);
const MIN_PHONE_KEY = 7;

/**
 * The national number a phone reaches, as digits: separators dropped, an international prefix
 * (`+86`, `0086`) and its country code removed, a trunk `0` removed; a bare `86` before an 11-digit
 * Chinese mobile number is treated as the country code. `defaultCountry` is the code assumed for
 * numbers typed without one. Returns null when fewer than 7 digits remain (too short to match on).
 */
export function phoneKey(phone: string | null | undefined, defaultCountry = '86'): string | null {
  if (!phone) return null;
  const trimmed = phone.trim();
  let digits = trimmed.replace(/\D/g, '');
  let international = false;
  if (trimmed.startsWith('+')) international = true;
  else if (digits.startsWith('00')) {
    international = true;
    digits = digits.slice(2);
  }
  if (international) {
    const code = BY_LENGTH.find((c) => digits.startsWith(c));
    if (code) digits = digits.slice(code.length);
  } else if (defaultCountry === '86' && digits.length === 13 && /^861\d{10}$/.test(digits)) {
    digits = digits.slice(2);
  }
  digits = digits.replace(/^0+/, '');
  return digits.length >= MIN_PHONE_KEY ? digits : null;
}

/** A name folded for comparison: accents removed, lower case, punctuation and extra spaces gone. */
export function normaliseName(name: string | null | undefined): string {
  if (!name) return '';
  // Fast path for the common case of plain ASCII letters and single spaces.
  if (/^[A-Za-z]+(?: [A-Za-z]+)*$/.test(name)) return name.toLowerCase();
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Name tokens, for blocking: a small typo changes one token, so the other still meets its twin. */
export function nameTokens(normalised: string): string[] {
  if (!normalised) return [];
  const tokens = normalised.split(' ');
  return tokens.length === 2 ? (tokens[0] === tokens[1] ? [tokens[0]!] : tokens) : [...new Set(tokens)];
}

// Scratch flags reused across calls: duplicate detection compares hundreds of thousands of pairs,
// and fresh arrays per call would keep the garbage collector busy.
let scratchA = new Uint8Array(64);
let scratchB = new Uint8Array(64);

/** Jaro similarity of two strings, 0..1. */
export function jaro(a: string, b: string): number {
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  if (la > scratchA.length) scratchA = new Uint8Array(la * 2);
  if (lb > scratchB.length) scratchB = new Uint8Array(lb * 2);
  const matchedA = scratchA;
  const matchedB = scratchB;
  matchedA.fill(0, 0, la);
  matchedB.fill(0, 0, lb);
  const window = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(lb - 1, i + window);
    const code = a.charCodeAt(i);
    for (let j = from; j <= to; j++) {
      if (matchedB[j] || code !== b.charCodeAt(j)) continue;
      matchedA[i] = 1;
      matchedB[j] = 1;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (!matchedA[i]) continue;
    while (!matchedB[k]) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  return (matches / la + matches / lb + (matches - transpositions / 2) / matches) / 3;
}

/** Jaro-Winkler similarity (prefix scale 0.1, prefix up to 4 characters), 0..1. */
export function jaroWinkler(a: string, b: string): number {
  const j = jaro(a, b);
  let prefix = 0;
  const max = Math.min(4, a.length, b.length);
  while (prefix < max && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return j + prefix * 0.1 * (1 - j);
}

/** The folded name with its tokens in sorted order, so "wei li" and "li wei" compare equal. */
export function sortedTokens(folded: string): string {
  return folded.split(' ').sort().join(' ');
}

/**
 * Name similarity: Jaro-Winkler of the folded names, also trying the tokens in sorted order so
 * "Wei Li" and "Li Wei" match. Pass the sorted forms when comparing one name many times.
 */
export function nameSimilarity(a: string, b: string, sortedA = sortedTokens(a), sortedB = sortedTokens(b)): number {
  const direct = jaroWinkler(a, b);
  if (direct === 1 || (sortedA === a && sortedB === b)) return direct;
  return Math.max(direct, jaroWinkler(sortedA, sortedB));
}

/** Names at least this similar (Jaro-Winkler) count as likely the same person in one city or company. */
export const NAME_THRESHOLD = 0.9;

/** What a reason is worth on its own. */
export const REASON_SCORES = { email: 0.95, phone: 0.9, name: 0.8 } as const;

/**
 * A name match is weaker evidence when the two records carry different emails or phones: each
 * disagreeing contact detail halves it (people do have two numbers, but two strangers with
 * similar names usually have different ones).
 */
export const CONFLICT_FACTOR = 0.5;

/** Pairs scoring below this are not reported unless asked (`--min-score`). */
export const DEFAULT_MIN_SCORE = 0.5;

/** Combines independent reasons: 1 − Π(1 − s). Two reasons beat either alone. */
export function combineScores(scores: readonly number[]): number {
  return 1 - scores.reduce((rest, s) => rest * (1 - s), 1);
}
