// Where command output goes: stdout, or a file written atomically (a temp file beside it, fsynced,
// then renamed), so a cron job never leaves half a report behind. Writes are buffered and respect
// back-pressure, so streaming millions of rows keeps memory flat. Files hold personal data: a new
// one is 0600, a replaced one keeps its mode, and the temp file is private and never outlives the
// command (the caller's TempFiles registers it for removal on interrupt and sweeps stale ones).
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/** Where temp files come from: private, recognisably named, removed on interrupt. */
export interface TempFiles {
  createTempBeside(target: string): string;
  keepModeOf(target: string, temp: string): void;
  releaseTemp(temp: string, remove?: boolean): void;
}

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

/** A file sink: text goes to a 0600 temp file in the same folder, renamed on `end`. */
export function atomicFileSink(path: string, files: TempFiles): OutputSink {
  const temp = files.createTempBeside(path);
  let fd: number;
  try {
    fd = openSync(temp, 'w');
  } catch (error) {
    files.releaseTemp(temp, true);
    throw error;
  }
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
      files.releaseTemp(temp, true);
    }
  };
  return {
    isTTY: false,
    write(chunk) {
      buffer += chunk;
      if (buffer.length < FLUSH_AT) return;
      flush();
      // Lets the event loop run between chunks, so SIGINT/SIGTERM can remove the temp file even
      // while a long synchronous query fills it.
      return new Promise<void>((resolve) => setImmediate(resolve));
    },
    async end() {
      try {
        flush();
        fsyncSync(fd);
      } catch (error) {
        cleanup();
        throw error;
      }
      open = false;
      try {
        closeSync(fd);
        files.keepModeOf(path, temp);
        renameSync(temp, path);
        files.releaseTemp(temp);
      } catch (error) {
        files.releaseTemp(temp, true);
        throw error;
      }
    },
    abort: cleanup,
  };
}
