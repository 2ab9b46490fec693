// The rules of a support ticket, pure: its choices (priority, kind, status), which status changes
// are allowed, when it is due and overdue, what counts as the first response, and the CSAT and
// percentile arithmetic the ticket report uses.
import { UsageError } from './errors.js';

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const KINDS = ['question', 'problem', 'complaint', 'feedback'] as const;
export const STATUSES = ['open', 'pending', 'resolved', 'closed'] as const;

export type TicketPriority = (typeof PRIORITIES)[number];
export type TicketKindName = (typeof KINDS)[number];
export type TicketStatusName = (typeof STATUSES)[number];

/** Open and pending tickets are still being worked on: they are the backlog and can be overdue. */
export const ACTIVE_STATUSES: readonly TicketStatusName[] = ['open', 'pending'];
/** ACTIVE_STATUSES as a list literal (`('open', 'pending')`) for the prepared statements of hot read paths. */
export const ACTIVE_STATUSES_LIST = `(${ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ')})`;

export function isActive(status: string): boolean {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

/** A ticket id as typed: `12` or `#12`. */
export function parseTicketId(input: string, label = 'ticket id'): number {
  const value = input.trim().replace(/^#/, '');
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${label} "${input}" is not a ticket number`, { hint: 'find ticket numbers with `crm ticket list`' });
  }
  return Number(value);
}

/** A CSAT score: a whole number from 1 to 5, nothing else (no 3.5, no 0, no words). */
export function parseScore(input: string, label = '--score'): number {
  const value = input.trim();
  if (!/^[1-5]$/.test(value)) {
    throw new UsageError(`${label} "${input}" is not a whole number from 1 to 5`, { hint: '5 = very satisfied, 1 = very unsatisfied' });
  }
  return Number(value);
}

/** The SLA deadline: the opening time plus the priority's allowance (config `sla.<priority>`). */
export function dueAt(openedAt: Date, allowanceMs: number): Date {
  return new Date(openedAt.getTime() + allowanceMs);
}

/** Overdue: still open or pending, and the due time has passed (a ticket due exactly now is not yet late). */
export function isOverdue(ticket: { status: string; due_at: string | null }, now: Date): boolean {
  return isActive(ticket.status) && ticket.due_at !== null && new Date(ticket.due_at).getTime() < now.getTime();
}

/**
 * Why a status change is not allowed, or null when it is. The lifecycle is
 * open ⇄ pending → resolved → closed; resolving goes through `ticket resolve` (it needs a
 * solution); a resolved or closed ticket can be reopened (to open or pending) only with a comment.
 */
export function transitionProblem(from: TicketStatusName, to: TicketStatusName, hasComment: boolean): { message: string; hint?: string } | null {
  if (from === to) return { message: `the ticket is already ${to}` };
  if (to === 'resolved') return { message: 'a ticket is resolved with its solution', hint: 'use `crm ticket resolve ID --solution TEXT`' };
  if (to === 'closed') {
    if (from === 'resolved') return null;
    return { message: `only a resolved ticket can be closed; this one is ${from}`, hint: 'resolve it first with `crm ticket resolve ID --solution TEXT`' };
  }
  // to is open or pending
  if (isActive(from)) return null;
  if (!hasComment) return { message: `reopening a ${from} ticket needs a comment saying why`, hint: `add --comment "why it is reopened"` };
  return null;
}

/** True when the change reopens a finished ticket. */
export function isReopen(from: string, to: string): boolean {
  return !isActive(from) && isActive(to);
}

/**
 * First response (documented in the README): the first comment or status change recorded on the
 * ticket after it was opened — including resolving it. Changing only the priority or the assignee
 * is internal triage and does not count.
 */
export function countsAsResponse(change: { statusChanged: boolean; comment: boolean }): boolean {
  return change.statusChanged || change.comment;
}

export interface CsatFigures {
  /** Number of current ratings. */
  ratings: number;
  /** How many of them are 4 or 5. */
  satisfied: number;
  /** satisfied / ratings as a ratio 0..1, or null without ratings. */
  csat: number | null;
  /** Mean score, or null without ratings. */
  averageScore: number | null;
}

/** CSAT: the share of 4 and 5 scores among current ratings, with the average score. */
export function csatOf(scores: readonly number[]): CsatFigures {
  const satisfied = scores.filter((s) => s >= 4).length;
  const total = scores.reduce((sum, s) => sum + s, 0);
  return {
    ratings: scores.length,
    satisfied,
    csat: scores.length ? satisfied / scores.length : null,
    averageScore: scores.length ? total / scores.length : null,
  };
}

/**
 * The p-th percentile (0..1) by linear interpolation between closest ranks — the method of
 * Excel's PERCENTILE.INC and NumPy's default — so the 50th is the usual median. Null when empty.
 */
export function percentile(values: readonly number[], p: number): number | null {
  return percentiles(values, [p])[0]!;
}

/** Several percentiles of the same values, sorting them once (numerically, as a typed array). */
export function percentiles(values: readonly number[], ps: readonly number[]): Array<number | null> {
  if (values.length === 0) return ps.map(() => null);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => {
    const pos = (sorted.length - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  });
}

/** A short human duration for tables and messages: `45m`, `7h 30m`, `3d 4h`. */
export function formatDuration(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const sign = ms < 0 ? '-' : '';
  if (minutes < 60) return `${sign}${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${sign}${hours}h${minutes % 60 ? ` ${minutes % 60}m` : ''}`;
  const days = Math.floor(hours / 24);
  return `${sign}${days}d${hours % 24 ? ` ${hours % 24}h` : ''}`;
}
