// Spreadsheet-formula safety for CSV/TSV cells, and its inverse for re-imported files.
// A cell a spreadsheet would run as a formula gets a leading `'`; plain numbers and phone numbers
// (`-5.00`, `+86 138 0013 8000`) are left as they are.

const PLAIN_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/**
 * `+` then only digits, spaces, `-`, `(`, `)` and `.`, with 5 to 20 digits: a phone number, not a
 * formula. A loop over char codes: exports run this on every phone cell.
 */
function isPhoneNumber(value: string): boolean {
  let digits = 0;
  for (let i = 1; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    // space ( ) - .  (a tab or line break inside makes it text to neutralise, not a phone number)
    else if (c !== 32 && c !== 40 && c !== 41 && c !== 45 && c !== 46) return false;
  }
  return digits >= 5 && digits <= 20;
}

/** `'` before `= + - @`, tab or CR, behind any number of further `'`: what restoreCell strips one `'` from. */
const ESCAPED = /^'+[=+\-@\t\r]/;

export function neutraliseCell(value: string): string {
  if (value === '') return value;
  const first = value.charCodeAt(0);
  // A cell that already looks escaped ('=x) gets one more quote, so the import's undo gives it back.
  if (first === 39) return ESCAPED.test(value) ? `'${value}` : value;
  // = @ TAB CR
  if (first === 61 || first === 64 || first === 9 || first === 13) return `'${value}`;
  // + -
  if (first === 43 || first === 45) {
    if (PLAIN_NUMBER.test(value)) return value;
    if (first === 43 && isPhoneNumber(value)) return value;
    return `'${value}`;
  }
  return value;
}

/**
 * Undoes neutraliseCell on import: one leading `'` before `= + - @`, tab or CR is removed, also
 * behind further quotes (`''=x` was the cell `'=x`).
 */
export function restoreCell(value: string): string {
  if (value.length > 1 && value.charCodeAt(0) === 39 && ESCAPED.test(value)) return value.slice(1);
  return value;
}
