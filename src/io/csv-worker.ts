// The worker thread that reads and parses a big import file (see workerBatches in csvReader.ts):
// it runs readCsvBatches and posts each batch to the importing thread, never more than `ahead`
// batches before they are taken, then `done`, or the error that stopped it. Given a step (see
// BatchStep), it first runs the step on each batch; a step that cannot start or fails is dropped,
// and the import works out what it would have.
import { parentPort, workerData } from 'node:worker_threads';
import type { BatchStep, RecordBatch } from '../domain/imports.js';
import { ValidationError } from '../domain/errors.js';
import { readCsvBatches, wakeUp, type CsvSourceOptions, type WorkerMessage } from './csvReader.js';

const { path, name, options, ahead, step } = workerData as { path: string; name: string; options: CsvSourceOptions; ahead: number; step?: BatchStep };
const port = parentPort!;
let credits = ahead;
const credited = wakeUp();
port.on('message', (n: number) => {
  credits += n;
  credited.notify();
});
const post = (message: WorkerMessage) => port.postMessage(message);

/** The step's function for each batch, from its bundle beside this one (dist/NAME.js); null without one. */
async function stepOf(given: BatchStep | undefined): Promise<((batch: RecordBatch) => void) | null> {
  if (given === undefined || !/^[\w-]+$/.test(given.bundle)) return null;
  try {
    const url = new URL(`./${given.bundle}.js`, import.meta.url).href;
    const module = (await import(url)) as { stepOf(data: unknown): (batch: RecordBatch) => void };
    return module.stepOf(given.data);
  } catch {
    return null;
  }
}

try {
  let work = await stepOf(step);
  for await (const batch of readCsvBatches(path, null, name, options)) {
    if (work) {
      try {
        work(batch);
      } catch {
        work = null;
        delete batch.keys;
      }
    }
    while (credits === 0) await credited.wait();
    credits--;
    port.postMessage({ batch } satisfies WorkerMessage, batch.keys ? [batch.keys.owners.buffer as ArrayBuffer] : []);
  }
  post({ done: true });
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  post({ error: { validation: e instanceof ValidationError, message: e.message, hint: e instanceof ValidationError ? e.hint : undefined, stack: e.stack } });
}
port.close();
