// Prompts on a real terminal: `script` gives crm a pseudo-TTY, the test answers when asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { hasScript, onTerminal } from '../helpers/terminal.js';

describe.skipIf(!hasScript)('prompts on a terminal', () => {
  // An empty database (`box`) and one with Zhang Min (`withCustomer`); the tests that write work
  // on their own copies.
  let box: Sandbox;
  let withCustomer: Sandbox;
  const copies: Sandbox[] = [];
  const copyOf = (from: Sandbox) => {
    const copy = from.clone();
    copies.push(copy);
    return copy;
  };
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
    withCustomer = box.clone();
    withCustomer.ok(['customer', 'add', '--name', 'Zhang Min', '--city', 'Hangzhou']);
  });
  afterAll(() => {
    for (const sandbox of [box, withCustomer, ...copies]) sandbox?.cleanup();
  });

  it('customer add asks for a name when nothing else names the customer', async () => {
    // An email, phone or external id would be enough on its own (issue 16); a city is not.
    const own = copyOf(box);
    const result = await onTerminal(['--db', own.dbPath, 'customer', 'add', '--city', 'Hangzhou'], [[/Name/, 'Zhang Min\r']]);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/added customer #1 Zhang Min/);
    expect(own.query('SELECT name, email, city FROM customers')).toEqual([{ name: 'Zhang Min', email: null, city: 'Hangzhou' }]);
  });

  it('--no-input never asks, even on a terminal', async () => {
    const result = await onTerminal(['--db', box.dbPath, '--no-input', 'customer', 'add'], []);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/error: missing required option --name/);
  });

  it('customer rm asks for confirmation: no keeps the customer, yes removes it', async () => {
    const own = copyOf(withCustomer);
    const no = await onTerminal(['--db', own.dbPath, 'customer', 'rm', '1'], [[/Remove customer #1 Zhang Min\? \(y\/N\)/, 'n\r']]);
    expect(no.code).toBe(1);
    expect(no.output).toMatch(/error: cancelled; nothing was changed/);
    expect(own.query('SELECT count(*) AS n FROM customers')).toEqual([{ n: 1 }]);
    const yes = await onTerminal(['--db', own.dbPath, 'customer', 'rm', '1'], [[/\(y\/N\)/, 'y\r']]);
    expect(yes.code).toBe(0);
    expect(yes.output).toMatch(/removed customer #1 Zhang Min/);
    expect(own.query('SELECT count(*) AS n FROM customers')).toEqual([{ n: 0 }]);
  });
});
