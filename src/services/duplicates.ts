// Likely duplicate customers. Never compares every customer with every other: customers are
// grouped by blocking keys first (the mailbox an email reaches, the national phone number, and for
// names a name token within the same city or company), and only members of one block are compared.
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { duplicateCandidates } from '../db/quality-counts.js';
import {
  CONFLICT_FACTOR,
  DEFAULT_MIN_SCORE,
  NAME_THRESHOLD,
  REASON_SCORES,
  combineScores,
  emailKey,
  jaroWinkler,
  nameSimilarity,
  nameTokens,
  normaliseName,
  phoneKey,
  sortedTokens,
} from '../domain/duplicates.js';

export type DuplicateMethod = 'email' | 'phone' | 'name';
export const DUPLICATE_METHODS: readonly DuplicateMethod[] = ['email', 'phone', 'name'];

export interface DuplicatePair {
  /** The older record (lower id): the natural one to keep in `customer merge <keep> <other>`. */
  keepId: number;
  keepName: string;
  otherId: number;
  otherName: string;
  score: number;
  reasons: string[];
}

export interface DuplicateReport {
  pairs: DuplicatePair[];
  /** Blocks left out because so many customers share the key that it says nothing (a shared switchboard number, a very common name in one city). */
  skippedBlocks: number;
}

/** Groups larger than these are not evidence of one person. */
const MAX_CONTACT_GROUP = 50;
const MAX_NAME_BLOCK = 1000;
/**
 * A name block whose members match each other this many times per member is a naming pattern
 * ("Customer 10000", "Guest A"…), not people typed twice: real duplicates are a handful per
 * person. Such a block is skipped like an oversized one, which also bounds the pairs held.
 */
const MAX_NAME_MATCHES_PER_MEMBER = 4;

interface Candidate {
  id: number;
  name: string;
  folded: string;
  /** The digits in the name: "Customer 10000" and "Customer 10001" are two records, not a typo. */
  digits: string;
  /** Whether an email or phone already paired this customer with someone. */
  paired: boolean;
  /** Tokens in sorted order, computed when first needed. */
  sorted: string | undefined;
  email: string | null;
  phone: string | null;
}

export interface FindDuplicatesOptions {
  by?: readonly DuplicateMethod[];
  /** Leave out pairs scoring below this (default 0.5). */
  minScore?: number;
}

export async function findDuplicates(db: Kysely<DB>, options: FindDuplicatesOptions = {}): Promise<DuplicateReport> {
  const methods = new Set(options.by && options.by.length > 0 ? options.by : DUPLICATE_METHODS);
  const rows = duplicateCandidates(db);

  const pairs = new Map<string, { keep: Candidate; other: Candidate; scores: number[]; reasons: string[]; named: boolean }>();
  let skippedBlocks = 0;

  const addReason = (a: Candidate, b: Candidate, score: number, reason: string, isName = false) => {
    const [keep, other] = a.id < b.id ? [a, b] : [b, a];
    const key = `${keep.id}:${other.id}`;
    let pair = pairs.get(key);
    if (!pair) {
      pair = { keep, other, scores: [], reasons: [], named: false };
      pairs.set(key, pair);
    }
    if (isName) {
      if (pair.named) return;
      pair.named = true;
    }
    pair.scores.push(score);
    pair.reasons.push(reason);
  };

  const emailGroups = new Map<string, Candidate[]>();
  const phoneGroups = new Map<string, Candidate[]>();
  // Name blocks: place ("city\0shanghai" or "company\0acme") → name token → customers.
  // Most name tokens occur once per place: those hold the candidate itself, not a one-element array.
  const nameBlocks = new Map<string, { place: string; tokens: Map<string, Candidate | Candidate[]> }>();
  const push = (map: Map<string, Candidate[]>, key: string, c: Candidate) => {
    const list = map.get(key);
    if (list) list.push(c);
    else map.set(key, [c]);
  };
  const folds = new Map<string, string>();
  const fold = (text: string | null) => {
    if (!text) return '';
    let folded = folds.get(text);
    if (folded === undefined) {
      folded = normaliseName(text);
      folds.set(text, folded);
    }
    return folded;
  };
  const blockFor = (kind: string, raw: string | null) => {
    const folded = fold(raw);
    if (!folded) return undefined;
    const key = `${kind}\u0000${folded}`;
    let block = nameBlocks.get(key);
    if (!block) {
      block = { place: `${kind} ${raw!.trim()}`, tokens: new Map() };
      nameBlocks.set(key, block);
    }
    return block;
  };

  for await (const { id, name, email, phone, company, city } of rows) {
    const folded = methods.has('name') ? normaliseName(name) : '';
    const c: Candidate = { id, name, folded, digits: folded.replace(/\D+/g, ''), paired: false, sorted: undefined, email: emailKey(email), phone: phoneKey(phone) };
    if (methods.has('email') && c.email) push(emailGroups, c.email, c);
    if (methods.has('phone') && c.phone) push(phoneGroups, c.phone, c);
    if (methods.has('name') && folded) {
      const tokens = nameTokens(folded);
      for (const block of [blockFor('city', city), blockFor('company', company)]) {
        if (!block) continue;
        for (const token of tokens) {
          const held = block.tokens.get(token);
          if (held === undefined) block.tokens.set(token, c);
          else if (Array.isArray(held)) held.push(c);
          else block.tokens.set(token, [held, c]);
        }
      }
    }
  }

  const contactPairs = (groups: Map<string, Candidate[]>, score: number, reason: (key: string) => string) => {
    for (const [key, group] of groups) {
      if (group.length < 2) continue;
      if (group.length > MAX_CONTACT_GROUP) {
        skippedBlocks++;
        continue;
      }
      for (let i = 0; i < group.length; i++) {
        group[i]!.paired = true;
        for (let j = i + 1; j < group.length; j++) addReason(group[i]!, group[j]!, score, reason(key));
      }
    }
  };
  contactPairs(emailGroups, REASON_SCORES.email, (key) => `same mailbox ${key}`);
  contactPairs(phoneGroups, REASON_SCORES.phone, (key) => `same phone ${key}`);

  // Both tokens of a name can put one pair in two blocks; `named` keeps the name reason single.
  // A name pair is scored and filtered at once: one that cannot reach the minimum score, alone or
  // with the contact reasons already found for it, is never held (a town of "Customer 10000"s
  // would otherwise keep millions of pairs alive until the end).
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const hasPair = (a: Candidate, b: Candidate) => a.paired && b.paired && pairs.has(a.id < b.id ? `${a.id}:${b.id}` : `${b.id}:${a.id}`);
  const found: { a: Candidate; b: Candidate; score: number; reason: string }[] = [];
  for (const { place, tokens } of nameBlocks.values()) {
    for (const [token, block] of tokens) {
      if (!Array.isArray(block)) continue;
      if (block.length > MAX_NAME_BLOCK) {
        skippedBlocks++;
        continue;
      }
      const maxMatches = MAX_NAME_MATCHES_PER_MEMBER * block.length;
      let matches = 0;
      found.length = 0;
      compare: for (let i = 0; i < block.length; i++) {
        const a = block[i]!;
        for (let j = i + 1; j < block.length; j++) {
          const b = block[j]!;
          if (Math.abs(a.folded.length - b.folded.length) > 4 || a.digits !== b.digits) continue;
          let conflicts = 0;
          if (a.email && b.email && a.email !== b.email) conflicts++;
          if (a.phone && b.phone && a.phone !== b.phone) conflicts++;
          const factor = conflicts === 0 ? 1 : conflicts === 1 ? CONFLICT_FACTOR : CONFLICT_FACTOR * CONFLICT_FACTOR;
          // The best a name can score is REASON_SCORES.name; skip the comparison when even that cannot count.
          const backed = hasPair(a, b);
          if (REASON_SCORES.name * factor < minScore && !backed) continue;
          // When the shared token leads both names (or neither), their order agrees and the direct
          // comparison is the one that counts; otherwise compare the sorted forms too.
          const lead = `${token} `;
          const sameOrder = a.folded.startsWith(lead) === b.folded.startsWith(lead);
          const similarity = sameOrder ? jaroWinkler(a.folded, b.folded) : nameSimilarity(a.folded, b.folded, (a.sorted ??= sortedTokens(a.folded)), (b.sorted ??= sortedTokens(b.folded)));
          if (similarity < NAME_THRESHOLD) continue;
          if (++matches > maxMatches) break compare;
          const score = REASON_SCORES.name * similarity * factor;
          if (score < minScore && !backed) continue;
          const differ = [a.email && b.email && a.email !== b.email ? 'emails' : '', a.phone && b.phone && a.phone !== b.phone ? 'phones' : ''].filter(Boolean);
          const note = differ.length > 0 ? ` but different ${differ.join(' and ')}` : '';
          found.push({ a, b, score, reason: `similar names (Jaro-Winkler ${similarity.toFixed(2)}) in the same ${place}${note}` });
        }
      }
      if (matches > maxMatches) {
        skippedBlocks++;
        continue;
      }
      for (const f of found) addReason(f.a, f.b, f.score, f.reason, true);
    }
  }

  const result: DuplicatePair[] = [...pairs.values()].map((p) => ({
    keepId: p.keep.id,
    keepName: p.keep.name,
    otherId: p.other.id,
    otherName: p.other.name,
    score: Math.round(combineScores(p.scores) * 1000) / 1000,
    reasons: p.reasons,
  }));
  const kept = result.filter((p) => p.score >= minScore);
  kept.sort((x, y) => y.score - x.score || x.keepId - y.keepId || x.otherId - y.otherId);
  return { pairs: kept, skippedBlocks };
}
