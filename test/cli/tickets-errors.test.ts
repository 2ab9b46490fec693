// Bad input to `crm ticket …` and the SLA settings: the contract's exit code, one `error:` line,
// and the database exactly as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

describe('ticket bad input', () => {
  let box: Sandbox;
  let before: string;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com']);
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li.wei2@example.com']);
    box.ok(['ticket', 'open', '--customer', '1', '--subject', 'still open']);
    box.ok(['ticket', 'open', '--customer', '1', '--subject', 'done']);
    box.ok(['ticket', 'resolve', '2', '--solution', 'fixed']);
    box.ok(['ticket', 'rate', '2', '--score', '4']);
    before = box.dump();
  });
  afterAll(() => box.cleanup());

  const cases: Array<[string, string[], number, RegExp]> = [
    ['score 0', ['ticket', 'rate', '2', '--score', '0'], 2, /^error: --score "0" is not a whole number from 1 to 5$/m],
    ['score 6', ['ticket', 'rate', '2', '--score', '6'], 2, /^error: --score "6" is not a whole number from 1 to 5$/m],
    ['score 3.5', ['ticket', 'rate', '2', '--score', '3.5'], 2, /^error: --score "3.5" is not a whole number/m],
    ['score as text', ['ticket', 'rate', '2', '--score', 'great'], 2, /^error: --score "great" is not a whole number/m],
    ['score missing', ['ticket', 'rate', '2'], 2, /^error: missing required option --score$/m],
    ['rating an open ticket', ['ticket', 'rate', '1', '--score', '5'], 1, /^error: ticket #1 is open: only a resolved or closed ticket can be rated\nhint: resolve it first/m],
    ['resolving without --solution', ['ticket', 'resolve', '1'], 2, /^error: missing required option --solution$/m],
    ['an empty solution', ['ticket', 'resolve', '1', '--solution', '  '], 2, /^error: --solution must not be empty$/m],
    ['show an unknown ticket', ['ticket', 'show', '99'], 1, /^error: no ticket #99\nhint: find ticket numbers/m],
    ['update an unknown ticket', ['ticket', 'update', '99', '--comment', 'x'], 1, /^error: no ticket #99$/m],
    ['resolve an unknown ticket', ['ticket', 'resolve', '99', '--solution', 'x'], 1, /^error: no ticket #99$/m],
    ['rate an unknown ticket', ['ticket', 'rate', '99', '--score', '3'], 1, /^error: no ticket #99$/m],
    ['a ticket id that is not a number', ['ticket', 'show', 'abc'], 2, /^error: ticket id "abc" is not a ticket number$/m],
    ['unknown status on update', ['ticket', 'update', '1', '--status', 'done'], 2, /^error: --status "done" is not one of open, pending, resolved, closed$/m],
    ['unknown status on list', ['ticket', 'list', '--status', 'waiting'], 2, /^error: --status "waiting" is not one of/m],
    ['unknown priority on update', ['ticket', 'update', '1', '--priority', 'asap'], 2, /^error: --priority "asap" is not one of low, normal, high, urgent$/m],
    ['unknown priority on open', ['ticket', 'open', '--customer', '1', '--subject', 'x', '--priority', 'p1'], 2, /^error: --priority "p1" is not one of/m],
    ['unknown priority on list', ['ticket', 'list', '--priority', 'p1'], 2, /^error: --priority "p1" is not one of/m],
    ['unknown kind', ['ticket', 'open', '--customer', '1', '--subject', 'x', '--kind', 'rant'], 2, /^error: --kind "rant" is not one of question, problem, complaint, feedback$/m],
    ['--status resolved on update', ['ticket', 'update', '1', '--status', 'resolved'], 2, /^error: --status resolved is set by `crm ticket resolve`/m],
    ['update with nothing to change', ['ticket', 'update', '1'], 2, /^error: nothing to update\nhint: give --status/m],
    ['update to the status it has', ['ticket', 'update', '1', '--status', 'open'], 1, /^error: ticket #1 is already open; nothing was changed$/m],
    ['open without customer and subject', ['ticket', 'open'], 2, /^error: missing required options --customer, --subject$/m],
    ['open for an unknown customer', ['ticket', 'open', '--customer', 'nobody@example.com', '--subject', 'x'], 1, /^error: no customer with email nobody@example.com$/m],
    ['open for an ambiguous name', ['ticket', 'open', '--customer', 'Li Wei', '--subject', 'x'], 1, /^error: "Li Wei" matches 2 customers$/m],
    ['an --opened that is not a time', ['ticket', 'open', '--customer', '1', '--subject', 'x', '--opened', 'soonish'], 2, /^error: --opened "soonish" is not a date/m],
    ['an SLA that is not a duration', ['config', 'set', 'sla.high', 'soon'], 2, /^error: sla.high "soon" is not a duration\nhint: use e.g. 30m, 4h, 2d or 1w$/m],
    ['an SLA of zero', ['config', 'set', 'sla.urgent', '0h'], 2, /^error: sla.urgent "0h" must be more than zero$/m],
    ['an SLA with a unit missing', ['config', 'set', 'sla.low', '72'], 2, /^error: sla.low "72" is not a duration/m],
    ['an unknown report period', ['report', 'tickets', '--period', '2025-Q7'], 2, /^error: --period "2025-Q7" is not a period: quarters are Q1 to Q4$/m],
  ];

  it.each(cases.map(([name, args, code, message]) => [`${name}: exit ${code}`, args, code, message] as const))('%s', (_name, args, code, message) => {
    const result = box.run(args);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(result.stdout).toBe('');
    expect(box.dump()).toBe(before);
  });
});
