// Likely duplicate customers. Never compares every customer with every other: customers are
// grouped by blocking keys first (the mailbox an email reaches, the national phone number, and for
// names a name token within the same city or company), and only members of one block are compared.
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { sqliteOf } from '../db/connection.js';
import {
  NAME_THRESHOLD,
  REASON_SCORES,
  combineScores,
  emailKey,
  nameSimilarity,
  nameTokens,
  normaliseName,
  phoneKey,
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

interface Candidate {
  id: number;
  name: string;
  folded: string;
}

export interface FindDuplicatesOptions {
  by?: readonly DuplicateMethod[];
}

export async function findDuplicates(db: Kysely<DB>, options: FindDuplicatesOptions = {}): Promise<DuplicateReport> {
  const methods = new Set(options.by && options.by.length > 0 ? options.by : DUPLICATE_METHODS);
  const rows = sqliteOf(db).prepare('SELECT id, name, email, phone, company, city FROM customers ORDER BY id').raw().all() as [
    number,
    string,
    string | null,
    string | null,
    string | null,
    string | null,
  ][];

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
  const nameBlocks = new Map<string, Candidate[]>();
  const places = new Map<string, string>();
  const push = (map: Map<string, Candidate[]>, key: string, c: Candidate) => {
    const list = map.get(key);
    if (list) list.push(c);
    else map.set(key, [c]);
  };

  for (const [id, name, email, phone, company, city] of rows) {
    const c: Candidate = { id, name, folded: methods.has('name') ? normaliseName(name) : '' };
    if (methods.has('email')) {
      const key = emailKey(email);
      if (key) push(emailGroups, key, c);
    }
    if (methods.has('phone')) {
      const key = phoneKey(phone);
      if (key) push(phoneGroups, key, c);
    }
    if (methods.has('name') && c.folded) {
      const cityKey = normaliseName(city);
      const companyKey = normaliseName(company);
      if (cityKey && !places.has(`city\u0000${cityKey}`)) places.set(`city\u0000${cityKey}`, city!.trim());
      if (companyKey && !places.has(`company\u0000${companyKey}`)) places.set(`company\u0000${companyKey}`, company!.trim());
      for (const token of nameTokens(c.folded)) {
        if (cityKey) push(nameBlocks, `city\u0000${cityKey}\u0000${token}`, c);
        if (companyKey) push(nameBlocks, `company\u0000${companyKey}\u0000${token}`, c);
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
        for (let j = i + 1; j < group.length; j++) addReason(group[i]!, group[j]!, score, reason(key));
      }
    }
  };
  contactPairs(emailGroups, REASON_SCORES.email, (key) => `same mailbox ${key}`);
  contactPairs(phoneGroups, REASON_SCORES.phone, (key) => `same phone ${key}`);

  // Both tokens of a name can put one pair in two blocks; `named` keeps the name reason single.
  for (const [key, block] of nameBlocks) {
    if (block.length < 2) continue;
    if (block.length > MAX_NAME_BLOCK) {
      skippedBlocks++;
      continue;
    }
    const [kind, folded] = key.split('\u0000') as [string, string];
    const place = places.get(`${kind}\u0000${folded}`) ?? folded;
    for (let i = 0; i < block.length; i++) {
      const a = block[i]!;
      for (let j = i + 1; j < block.length; j++) {
        const b = block[j]!;
        if (Math.abs(a.folded.length - b.folded.length) > 4) continue;
        const similarity = nameSimilarity(a.folded, b.folded);
        if (similarity < NAME_THRESHOLD) continue;
        addReason(a, b, REASON_SCORES.name * similarity, `similar names (Jaro-Winkler ${similarity.toFixed(2)}) in the same ${kind} ${place}`, true);
      }
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
  result.sort((x, y) => y.score - x.score || x.keepId - y.keepId || x.otherId - y.otherId);
  return { pairs: result, skippedBlocks };
}
