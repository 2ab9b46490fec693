// The small part of papaparse's API that src/io/csvReader.ts drives: the core incremental Parser.
declare module 'papaparse' {
  export interface ParseError {
    type: string;
    code: string;
    message: string;
    /** Index into this call's `data`. */
    row: number;
    index: number;
  }
  export interface ParserConfig {
    delimiter?: string;
    newline?: '\n' | '\r' | '\r\n';
    quoteChar?: string;
    escapeChar?: string;
    fastMode?: boolean;
  }
  export interface ParseResult {
    data: string[][];
    errors: ParseError[];
    meta: { cursor: number; delimiter: string; linebreak: string };
  }
  export class Parser {
    constructor(config: ParserConfig);
    /** Parses `input`; with ignoreLastRow, the last (maybe incomplete) row is left unparsed at meta.cursor. */
    parse(input: string, baseIndex: number, ignoreLastRow: boolean): ParseResult;
  }
  const Papa: { Parser: typeof Parser; BAD_DELIMITERS: string[] };
  export default Papa;
}
