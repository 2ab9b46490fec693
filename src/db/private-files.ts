// Private files beside a target: a temp file (0600, crm's recognisable name) that becomes the
// target by rename, a registry of the ones still open so an interrupted command removes them, and
// a sweep that removes those a killed crm left behind (its process is gone) on the next write.
import { chmodSync, closeSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseTempFileName, tempFileName } from '../domain/temp-files.js';

const pending = new Set<string>();

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes crm temp files in `dir` whose process has ended (killed backups, exports, restores). */
export function sweepStaleTempFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const parsed = parseTempFileName(name);
    if (parsed && !alive(parsed.pid)) rmSync(join(dir, name), { force: true });
  }
}

/** Creates an empty 0600 temp file beside `target` (after sweeping stale ones) and registers it. */
export function createTempBeside(target: string): string {
  const dir = dirname(target);
  sweepStaleTempFiles(dir);
  const temp = join(dir, tempFileName(basename(target), process.pid, Math.random().toString(36).slice(2, 10)));
  closeSync(openSync(temp, 'wx', 0o600));
  pending.add(temp);
  return temp;
}

/** Gives the temp file the mode of the file it replaces (a new file stays 0600). */
export function keepModeOf(target: string, temp: string): void {
  let mode = 0o600;
  try {
    mode = statSync(target).mode & 0o7777;
  } catch {
    // a new file
  }
  chmodSync(temp, mode);
}

/** The temp file is renamed or deleted: no longer ours to clean up. */
export function releaseTemp(temp: string, remove = false): void {
  pending.delete(temp);
  if (remove) rmSync(temp, { force: true });
}

/** Removes every temp file still registered (on SIGINT/SIGTERM). */
export function removePendingTempFiles(): void {
  for (const temp of pending) rmSync(temp, { force: true });
  pending.clear();
}
