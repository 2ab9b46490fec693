// The README's walk-through of loading examples/shop/ (issue 16 item 10) is run as written: each
// `$ crm …` line of the block between the walkthrough markers runs on one fresh database, from the
// repository root, and prints what the README shows below it (import timings aside).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Step {
  command: string;
  args: string[];
  expected: string;
}

/** Splits a command line on spaces, keeping "double-quoted" words whole. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The `$ crm …` commands of a README walk-through and the output shown below each. */
function walkthrough(name: string): Step[] {
  const readme = readFileSync(new URL('README.md', `file://${ROOT}`), 'utf8');
  const start = readme.indexOf(`<!-- walkthrough: ${name}`);
  expect(start, `README has a "${name}" walk-through`).toBeGreaterThan(0);
  const block = readme.slice(start, readme.indexOf('<!-- /walkthrough -->', start));
  const body = block.slice(block.indexOf('```console\n') + '```console\n'.length, block.lastIndexOf('```'));
  const steps: Step[] = [];
  for (const line of body.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) {
      const [crm, ...args] = words(line.slice(2));
      expect(crm).toBe('crm');
      steps.push({ command: line.slice(2), args, expected: '' });
    } else if (line !== '' || steps.length > 0) {
      steps.at(-1)!.expected += `${line}\n`;
    }
  }
  return steps;
}

/** What a person sees: CSV's CRLF as line ends, and any import's timing as the README shows it. */
const normalise = (text: string) => text.replace(/\r\n/g, '\n').replace(/ in \d+\.\d s$/gm, ' in 0.0 s');

let boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes) box.cleanup();
  boxes = [];
});

describe('README walk-through: loading a shop export (examples/shop)', () => {
  it('every command prints what the README shows', () => {
    const steps = walkthrough('shop');
    expect(steps.length).toBeGreaterThanOrEqual(4);
    const box = sandbox();
    boxes.push(box);
    box.ok(['init']);
    for (const step of steps) {
      const result = box.run(step.args, { cwd: ROOT });
      expect(result.code, `${step.command}\n${result.stderr}`).toBe(0);
      expect(normalise(result.stdout + result.stderr), step.command).toBe(step.expected);
    }
    // What the walk-through says in words, from the files: 11 lines, one a refund, one a guest's.
    expect(box.query('SELECT count(*) AS lines, sum(CASE WHEN amount_cents < 0 THEN 1 ELSE 0 END) AS refunds, sum(CASE WHEN customer_id IS NULL THEN 1 ELSE 0 END) AS guests, count(sold_at) AS timed FROM sales')).toEqual([
      { lines: 11, refunds: 1, guests: 1, timed: 11 },
    ]);
    expect(box.query("SELECT external_id, name FROM customers ORDER BY id")).toEqual([
      { external_id: '12347', name: 'Gift Corner' },
      { external_id: '12583', name: '' },
      { external_id: '13047', name: "Hannah's Homeware" },
      { external_id: '17850', name: '' },
    ]);
  });
});
