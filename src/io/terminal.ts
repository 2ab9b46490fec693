// Makes user data safe to show in a terminal: control characters become visible escapes, so a
// stored `\x1b[2J` can never clear the screen or recolour a table.

// C0 controls, DEL and C1 controls; and the invisible characters that reorder or hide text: the
// Arabic letter mark, zero-width space/non-joiner/joiner, LRM/RLM, bidi embeddings and overrides
// (U+202E turns "gpj.exe" round), word joiner and invisible operators, bidi isolates, and the BOM.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

export function escapeControl(text: string): string {
  return text.replace(CONTROL, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    if (ch === '\r') return '\\r';
    const code = ch.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
