// `crm ticket …` end to end through the built binary: the lifecycle and its history, SLA due
// times around the due instant (pinned with CRM_NOW), overdue highlighting, and re-rating.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRM_BIN, baseEnv, runCrm, sandbox, type RunResult, type Sandbox } from '../helpers/cli.js';

const H = 3_600_000;
const at = (iso: string) => ({ env: { CRM_NOW: iso } });
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

interface TicketDb {
  id: number;
  customer_id: number;
  subject: string;
  description: string | null;
  priority: string;
  kind: string;
  status: string;
  assignee: string | null;
  opened_at: string;
  due_at: string;
  first_response_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  solution: string | null;
}

function ticketRow(box: Sandbox, id: number): TicketDb {
  return box.query<TicketDb>('SELECT * FROM tickets WHERE id = ?', id)[0]!;
}

function setup(): Sandbox {
  const box = sandbox();
  box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com']);
  box.ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.com']);
  return box;
}

describe('ticket lifecycle', () => {
  // One ticket's life, played once here with the clock pinned at each step; every step keeps what
  // the tests check (the command's result, the row after it, the database around a refusal), so
  // each test only reads and passes alone or in any order.
  let box: Sandbox;
  const T0 = '2025-06-02T09:00:00.000Z';
  interface Step {
    result: RunResult;
    row: TicketDb;
  }
  const steps: Record<string, Step> = {};
  const seen: Record<string, unknown> = {};
  const step = (name: string, args: string[], now?: string): Step => {
    const result = box.run(args, now ? at(now) : {});
    steps[name] = { result, row: ticketRow(box, 1) };
    return steps[name]!;
  };
  const iso = (h: number) => plus(T0, h * H).replace('.000Z', 'Z');

  beforeAll(() => {
    box = setup();
    step('open', ['ticket', 'open', '--customer', 'li@example.com', '--subject', 'Invoice missing', '--description', 'May invoice'], T0);
    seen.openEvents = box.query('SELECT kind, to_value FROM ticket_events WHERE ticket_id = 1');
    seen.openAudit = box.query("SELECT action, entity, entity_id, customer_id FROM audit_log WHERE action LIKE 'ticket.%'");
    step('priority', ['ticket', 'update', '1', '--priority', 'high', '--assignee', 'mei'], plus(T0, 1 * H));
    step('pending', ['ticket', 'update', '1', '--status', 'pending', '--comment', 'Asked for the order number'], plus(T0, 2 * H));
    step('comment', ['ticket', 'update', '1', '--comment', 'Customer sent it', '--assignee', ''], plus(T0, 3 * H));
    step('resolve', ['ticket', 'resolve', '1', '--solution', 'Re-sent the invoice'], plus(T0, 5 * H));
    step('close', ['ticket', 'update', '1', '--status', 'closed'], plus(T0, 6 * H));
    seen.beforeBareReopen = box.dump();
    step('bare reopen', ['ticket', 'update', '1', '--status', 'open'], plus(T0, 7 * H));
    seen.afterBareReopen = box.dump();
    step('reopen', ['ticket', 'update', '1', '--status', 'open', '--comment', 'Wrong invoice attached'], plus(T0, 7 * H));
    seen.beforeCloseOpen = box.dump();
    step('close open', ['ticket', 'update', '1', '--status', 'closed']);
    seen.afterCloseOpen = box.dump();
    step('resolve again', ['ticket', 'resolve', '1', '--solution', 'Attached the right one'], plus(T0, 8 * H));
    seen.beforeResolveTwice = box.dump();
    step('resolve twice', ['ticket', 'resolve', '1', '--solution', 'again'], plus(T0, 9 * H));
    seen.afterResolveTwice = box.dump();
    step('show', ['ticket', 'show', '1', '--format', 'json'], plus(T0, 10 * H));
    step('rate', ['ticket', 'rate', '1', '--score', '4'], plus(T0, 11 * H));
    step('re-rate', ['ticket', 'rate', '1', '--score', '2', '--comment', 'Took two tries'], plus(T0, 12 * H));
    // Another customer's ticket, for the list filters.
    box.run(['ticket', 'open', '--customer', 'Anna Schmidt', '--subject', 'Order late', '--kind', 'complaint', '--priority', 'urgent'], at(T0));
  });
  afterAll(() => box.cleanup());

  it('opens with priority normal and kind question by default, due after sla.normal (24h)', () => {
    const { result, row } = steps.open!;
    expect(result).toMatchObject({ code: 0, stdout: '1\n' });
    expect(result.stderr).toBe('opened ticket #1 for #1 Li Wei <li@example.com> (normal, due 2025-06-03 09:00)\n');
    expect(row).toMatchObject({
      customer_id: 1,
      subject: 'Invoice missing',
      description: 'May invoice',
      priority: 'normal',
      kind: 'question',
      status: 'open',
      opened_at: T0,
      due_at: plus(T0, 24 * H),
      first_response_at: null,
      resolved_at: null,
    });
    expect(seen.openEvents).toEqual([{ kind: 'opened', to_value: 'open' }]);
    expect(seen.openAudit).toEqual([{ action: 'ticket.open', entity: 'ticket', entity_id: 1, customer_id: 1 }]);
  });

  it('a priority or assignee change is not a first response; the due time is recomputed from the opening', () => {
    expect(steps.priority!.result.code).toBe(0);
    expect(steps.priority!.row).toMatchObject({ priority: 'high', assignee: 'mei', due_at: plus(T0, 8 * H), first_response_at: null });
  });

  it('a status change with a comment is the first response', () => {
    expect(steps.pending!.result.code).toBe(0);
    expect(steps.pending!.row).toMatchObject({ status: 'pending', first_response_at: plus(T0, 2 * H) });
  });

  it('a later comment keeps the first response time; unassigning with an empty --assignee', () => {
    expect(steps.comment!.result.code).toBe(0);
    expect(steps.comment!.row).toMatchObject({ status: 'pending', assignee: null, first_response_at: plus(T0, 2 * H) });
  });

  it('resolves with a solution, then closes', () => {
    expect(steps.resolve!.result.code).toBe(0);
    expect(steps.resolve!.result.stderr).toBe('resolved ticket #1 after 5h\n');
    expect(steps.resolve!.row).toMatchObject({ status: 'resolved', resolved_at: plus(T0, 5 * H), solution: 'Re-sent the invoice' });
    expect(steps.close!.result.code).toBe(0);
    expect(steps.close!.row).toMatchObject({ status: 'closed', closed_at: plus(T0, 6 * H), resolved_at: plus(T0, 5 * H) });
  });

  it('refuses to reopen without a comment (exit 1, nothing changed)', () => {
    const { result } = steps['bare reopen']!;
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: ticket #1: reopening a closed ticket needs a comment saying why\nhint: add --comment "why it is reopened"\n');
    expect(seen.afterBareReopen).toBe(seen.beforeBareReopen);
  });

  it('reopens with a comment: unresolved again, the old solution kept in the history', () => {
    expect(steps.reopen!.result.code).toBe(0);
    expect(steps.reopen!.row).toMatchObject({ status: 'open', resolved_at: null, closed_at: null, solution: null, first_response_at: plus(T0, 2 * H) });
  });

  it('refuses wrong-state moves with exit 1: closing an open ticket, resolving twice', () => {
    const close = steps['close open']!.result;
    expect(close.code).toBe(1);
    expect(close.stderr).toMatch(/^error: ticket #1: only a resolved ticket can be closed; this one is open\nhint: resolve it first/);
    expect(seen.afterCloseOpen).toBe(seen.beforeCloseOpen);
    expect(steps['resolve again']!.result.code).toBe(0);
    const again = steps['resolve twice']!.result;
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: ticket #1 is already resolved$/m);
    expect(seen.afterResolveTwice).toBe(seen.beforeResolveTwice);
    expect(seen.beforeResolveTwice).not.toBe(seen.afterCloseOpen);
  });

  it('shows the whole history in order, with who and when', () => {
    expect(steps.show!.result.code).toBe(0);
    const doc = JSON.parse(steps.show!.result.stdout);
    const user = doc.history[0].actor;
    expect(typeof user).toBe('string');
    expect(doc.history).toEqual([
      { at: iso(0), event: 'opened', from: null, to: 'open', comment: null, actor: user },
      { at: iso(1), event: 'priority', from: 'normal', to: 'high', comment: null, actor: user },
      { at: iso(1), event: 'assignee', from: null, to: 'mei', comment: null, actor: user },
      { at: iso(2), event: 'status', from: 'open', to: 'pending', comment: 'Asked for the order number', actor: user },
      { at: iso(3), event: 'assignee', from: 'mei', to: null, comment: null, actor: user },
      { at: iso(3), event: 'comment', from: null, to: null, comment: 'Customer sent it', actor: user },
      { at: iso(5), event: 'status', from: 'pending', to: 'resolved', comment: 'Re-sent the invoice', actor: user },
      { at: iso(6), event: 'status', from: 'resolved', to: 'closed', comment: null, actor: user },
      { at: iso(7), event: 'status', from: 'closed', to: 'open', comment: 'Wrong invoice attached', actor: user },
      { at: iso(8), event: 'status', from: 'open', to: 'resolved', comment: 'Attached the right one', actor: user },
    ]);
    expect(doc.ticket).toMatchObject({
      id: 1,
      customer: 'Li Wei',
      status: 'resolved',
      priority: 'high',
      opened_at: iso(0),
      due_at: iso(8),
      overdue: false,
      first_response_at: iso(2),
      resolved_at: iso(8),
      solution: 'Attached the right one',
      score: null,
    });
    expect(doc.ratings).toEqual([]);
  });

  it('re-rating supersedes the old rating and keeps it; show lists both', () => {
    expect(steps.rate!.result.code).toBe(0);
    expect(steps['re-rate']!.result).toMatchObject({ code: 0, stderr: 'rated ticket #1: 2 (replaces 4)\n' });
    expect(box.query('SELECT ticket_id, score, comment, rated_at, superseded_at FROM ticket_ratings ORDER BY id')).toEqual([
      { ticket_id: 1, score: 4, comment: null, rated_at: plus(T0, 11 * H), superseded_at: plus(T0, 12 * H) },
      { ticket_id: 1, score: 2, comment: 'Took two tries', rated_at: plus(T0, 12 * H), superseded_at: null },
    ]);
    const doc = JSON.parse(box.ok(['ticket', 'show', '1', '--format', 'json']));
    expect(doc.ticket.score).toBe(2);
    expect(doc.ratings.map((r: { score: number; current: boolean }) => [r.score, r.current])).toEqual([
      [4, false],
      [2, true],
    ]);
    const table = box.ok(['ticket', 'show', '1']);
    expect(table).toMatch(/^Ticket #1\n/);
    expect(table).toMatch(/History\n/);
    expect(table).toMatch(/│ Took two tries │ yes/);
  });

  it('audits every write in the same transaction', () => {
    const actions = box.query<{ action: string }>("SELECT action FROM audit_log WHERE action LIKE 'ticket.%' AND entity_id = 1 ORDER BY id").map((r) => r.action);
    expect(actions).toEqual([
      'ticket.open',
      'ticket.update',
      'ticket.update',
      'ticket.update',
      'ticket.resolve',
      'ticket.update',
      'ticket.update',
      'ticket.resolve',
      'ticket.rate',
      'ticket.rate',
    ]);
    const superseded = box.query<{ op: string; after: string }>(
      "SELECT op, after FROM audit_change WHERE table_name = 'ticket_ratings' ORDER BY id",
    );
    expect(superseded.map((c) => c.op)).toEqual(['insert', 'update', 'insert']);
    expect(JSON.parse(superseded[1]!.after).superseded_at).toBe(plus(T0, 12 * H));
  });

  it('lists by customer, status and priority', () => {
    const ids = (args: string[]) => JSON.parse(box.ok(['ticket', 'list', ...args, '--format', 'json'], at(T0))).map((t: { id: number }) => t.id);
    expect(ids([])).toEqual([2, 1]);
    expect(ids(['--customer', 'anna@example.com'])).toEqual([2]);
    expect(ids(['--status', 'resolved'])).toEqual([1]);
    expect(ids(['--priority', 'urgent'])).toEqual([2]);
    expect(ids(['--status', 'open', '--priority', 'high'])).toEqual([]);
  });
});

describe('SLA due times', () => {
  // Two tickets opened at T0 (read by the tests; a test that writes works on its own copy), and
  // the same after ticket 2 went urgent, pending and resolved.
  let box: Sandbox;
  let handled: Sandbox;
  const copies: Sandbox[] = [];
  const copyOf = (from: Sandbox) => {
    const copy = from.clone();
    copies.push(copy);
    return copy;
  };
  const T0 = '2025-06-02T09:00:00.000Z';
  beforeAll(() => {
    box = setup();
    box.ok(['config', 'set', 'sla.high', '6h']);
    box.ok(['ticket', 'open', '--customer', '1', '--subject', 'Server down', '--priority', 'high'], at(T0));
    box.ok(['ticket', 'open', '--customer', '2', '--subject', 'Question', '--priority', 'low'], at(T0));
    handled = box.clone();
    handled.ok(['ticket', 'update', '2', '--priority', 'urgent'], at(plus(T0, 2 * H)));
    handled.ok(['ticket', 'update', '2', '--status', 'pending', '--comment', 'waiting'], at(plus(T0, 3 * H)));
    handled.ok(['ticket', 'resolve', '2', '--solution', 'done'], at(plus(T0, 5 * H)));
  });
  afterAll(() => {
    for (const sandbox of [box, handled, ...copies]) sandbox?.cleanup();
  });

  const overdueIds = (now: string, on = box) =>
    JSON.parse(on.ok(['ticket', 'list', '--overdue', '--format', 'json'], at(now))).map((t: { id: number }) => t.id);

  it('uses the configured sla.high (6h) and the default sla.low (72h)', () => {
    expect(ticketRow(box, 1).due_at).toBe(plus(T0, 6 * H));
    expect(ticketRow(box, 2).due_at).toBe(plus(T0, 72 * H));
  });

  it('is not overdue one second before the due time, nor at it; overdue one second after', () => {
    expect(overdueIds(plus(T0, 6 * H - 1000))).toEqual([]);
    expect(overdueIds(plus(T0, 6 * H))).toEqual([]);
    expect(overdueIds(plus(T0, 6 * H + 1000))).toEqual([1]);
    expect(overdueIds(plus(T0, 72 * H + 1000))).toEqual([1, 2]);
  });

  it('a priority change recomputes the due time from the opening, not from now', () => {
    const own = copyOf(box);
    own.ok(['ticket', 'update', '2', '--priority', 'urgent'], at(plus(T0, 2 * H)));
    expect(ticketRow(own, 2).due_at).toBe(plus(T0, 4 * H));
    expect(overdueIds(plus(T0, 4 * H - 1000), own)).toEqual([]);
    expect(overdueIds(plus(T0, 4 * H + 1000), own)).toEqual([2]);
  });

  it('a pending ticket can be overdue; a resolved one cannot', () => {
    const own = copyOf(box);
    own.ok(['ticket', 'update', '2', '--priority', 'urgent', '--status', 'pending', '--comment', 'waiting'], at(plus(T0, 3 * H)));
    expect(overdueIds(plus(T0, 5 * H), own)).toEqual([2]);
    own.ok(['ticket', 'resolve', '2', '--solution', 'done'], at(plus(T0, 5 * H)));
    expect(overdueIds(plus(T0, 7 * H), own)).toEqual([1]);
  });

  it('marks overdue rows red on a colour terminal only; piped tables carry no ANSI codes', () => {
    const box = handled;
    const now = plus(T0, 7 * H);
    const piped = box.run(['ticket', 'list'], at(now));
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toMatch(/\x1b/);
    expect(piped.stdout).toBe(
      [
        '┌────┬──────┬──────────────┬─────────────┬──────────┬──────────┬──────────┬──────────┬──────────────────┬──────────────────┬─────────┐',
        '│ ID │ Cust │ Customer     │ Subject     │ Kind     │ Priority │ Status   │ Assignee │ Opened           │ Due              │ Overdue │',
        '├────┼──────┼──────────────┼─────────────┼──────────┼──────────┼──────────┼──────────┼──────────────────┼──────────────────┼─────────┤',
        '│  1 │    1 │ Li Wei       │ Server down │ question │ high     │ open     │          │ 2025-06-02 09:00 │ 2025-06-02 15:00 │ yes     │',
        '│  2 │    2 │ Anna Schmidt │ Question    │ question │ urgent   │ resolved │          │ 2025-06-02 09:00 │ 2025-06-02 13:00 │ no      │',
        '└────┴──────┴──────────────┴─────────────┴──────────┴──────────┴──────────┴──────────┴──────────────────┴──────────────────┴─────────┘',
        '',
      ].join('\n'),
    );
    const forced = box.run(['ticket', 'list'], { env: { CRM_NOW: now, FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain('\x1b[31mServer down\x1b[39m');
    expect(forced.stdout).not.toContain('\x1b[31mQuestion');
    const noColor = box.run(['ticket', 'list', '--no-color'], { env: { CRM_NOW: now, FORCE_COLOR: '1' } });
    expect(noColor.stdout).not.toMatch(/\x1b/);
  });

  it('on a real terminal (script(1) gives a pty) the overdue row is red', () => {
    const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0) return; // no util-linux script here; FORCE_COLOR above covers the renderer
    const command = `${process.execPath} ${CRM_BIN} --db ${box.dbPath} ticket list`;
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: baseEnv({ CRM_NOW: plus(T0, 7 * H), TERM: 'xterm' }) });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('\x1b[31mServer down\x1b[39m');
  });

  it('--opened records a request that came in earlier; a future one is refused', () => {
    const box = copyOf(handled);
    const now = '2025-06-03T12:00:00.000Z';
    const id = box.ok(['ticket', 'open', '--customer', '1', '--subject', 'Called yesterday', '--opened', '2025-06-02 16:00'], at(now)).trim();
    expect(ticketRow(box, Number(id))).toMatchObject({ opened_at: '2025-06-02T16:00:00.000Z', due_at: '2025-06-03T16:00:00.000Z' });
    const before = box.dump();
    const future = box.run(['ticket', 'open', '--customer', '1', '--subject', 'x', '--opened', '2025-06-04'], at(now));
    expect(future.code).toBe(2);
    expect(future.stderr).toBe('error: --opened cannot be in the future\n');
    expect(box.dump()).toBe(before);
  });
});

describe('ticket help', () => {
  it('every ticket command has a description and examples, and the README shows it', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const args of [['ticket', 'open'], ['ticket', 'list'], ['ticket', 'show'], ['ticket', 'update'], ['ticket', 'resolve'], ['ticket', 'rate'], ['report', 'tickets']]) {
      const help = runCrm([...args, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/\nExamples:\n {2}\$ crm /);
      expect(readme).toContain(`crm ${args.join(' ')}`);
    }
  });
});
