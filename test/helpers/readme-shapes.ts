// The README's "Report JSON shapes" section, read as data: report → [section, is a list, keys in
// order]. Tests hold each report's real `--format json` output against it.
import { readFileSync } from 'node:fs';

export type DocumentedShape = Array<[section: string, isList: boolean, keys: string[]]>;

export function documentedReportShapes(): Map<string, DocumentedShape> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('### Report JSON shapes');
  const end = readme.indexOf('\n#', start + 10);
  const shapes = new Map<string, DocumentedShape>();
  let current: DocumentedShape | undefined;
  for (const line of readme.slice(start, end).split('\n')) {
    const heading = /^\*\*`report (\w+)`\*\*$/.exec(line);
    if (heading) shapes.set(heading[1]!, (current = []));
    const section = /^- `(\w+)(\[\])?`: .*: (`\w+`(?:, `\w+`)*)$/.exec(line);
    if (section && current) current.push([section[1]!, section[2] === '[]', section[3]!.split(', ').map((k) => k.slice(1, -1))]);
  }
  return shapes;
}

/** The keys of each documented section as `report` printed them (the first row of a list). */
export function printedShape(doc: Record<string, unknown>, documented: DocumentedShape): DocumentedShape {
  return documented.map(([section]) => {
    const value = doc[section];
    const first = (Array.isArray(value) ? value[0] : value) as Record<string, unknown> | undefined;
    return [section, Array.isArray(value), first ? Object.keys(first) : []];
  });
}
