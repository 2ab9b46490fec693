// Where command output goes: stdout, or a file written atomically (a temp file beside it, fsynced,
// then renamed), so a cron job never leaves half a report behind. Writes are buffered and respect
// back-pressure, so streaming millions of rows keeps memory flat.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface OutputSink {
  /** Queue text; await the promise only when it is returned (back-pressure). */
  write(chunk: string): void | Promise<void>;
  /** Flush and, for files, move the finished file into place. */
  end(): Promise<void>;
  /** Give up: for files, remove the temp file and leave any existing file as it was. */
  abort(): void;
  /** True when the text lands on a terminal (tables may then use colour). */
  readonly isTTY: boolean;
}

const FLUSH_AT = 1 << 16;

export function stdoutSink(stream: NodeJS.WritableStream & { isTTY?: boolean }): OutputSink {
  let buffer = '';
  const flush = (): void | Promise<void> => {
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    if (!stream.write(chunk)) return new Promise((resolve) => stream.once('drain', () => resolve()));
  };
  return {
    isTTY: Boolean(stream.isTTY),
    write(chunk) {
      buffer += chunk;
      if (buffer.length >= FLUSH_AT) return flush();
    },
    async end() {
      await flush();
    },
    abort() {
      buffer = '';
    },
  };
}

/** A file sink: text goes to `.<name>.<random>.tmp` in the same folder, renamed on `end`. */
export function atomicFileSink(path: string, mode = 0o666): OutputSink {
  // Not node:crypto: loading it costs every command start-up time, and the name only has to be
  // unlikely to clash ('wx' below refuses an existing file anyway).
  const unique = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  const temp = join(dirname(path), `.${basename(path)}.${unique}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  let buffer = '';
  let open = true;
  const flush = () => {
    if (buffer === '') return;
    writeSync(fd, buffer);
    buffer = '';
  };
  const cleanup = () => {
    if (!open) return;
    open = false;
    try {
      closeSync(fd);
    } finally {
      try {
        unlinkSync(temp);
      } catch {
        // already gone
      }
    }
  };
  return {
    isTTY: false,
    write(chunk) {
      buffer += chunk;
      if (buffer.length >= FLUSH_AT) flush();
    },
    async end() {
      try {
        flush();
        fsyncSync(fd);
        closeSync(fd);
        open = false;
        renameSync(temp, path);
      } catch (error) {
        cleanup();
        throw error;
      }
    },
    abort: cleanup,
  };
}
