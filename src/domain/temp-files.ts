// The names of the temporary files crm writes beside a file it is about to replace
// (`.<name>.crm-<pid>-<random>.tmp`): recognisable, so a later run can tell its own leftovers from
// other programs' files and remove those whose process is gone.

const PATTERN = /^\.(.+)\.crm-(\d+)-[0-9a-z]+\.tmp$/;

/** The temp file name for `name`, written by process `pid`. */
export function tempFileName(name: string, pid: number, random: string): string {
  return `.${name}.crm-${pid}-${random}.tmp`;
}

/** The name and process of a crm temp file, or null for any other file. */
export function parseTempFileName(file: string): { name: string; pid: number } | null {
  const match = PATTERN.exec(file);
  return match ? { name: match[1]!, pid: Number(match[2]) } : null;
}
