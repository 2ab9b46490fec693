// The worker thread that reads and parses a big import file (see workerBatches in csvReader.ts):
// it runs readCsvBatches and posts each batch to the importing thread, never more than `ahead`
// batches before they are taken, then `done`, or the error that stopped it.
import { parentPort, workerData } from 'node:worker_threads';
import { ValidationError } from '../domain/errors.js';
import { readCsvBatches, wakeUp, type CsvSourceOptions, type WorkerMessage } from './csvReader.js';

const { path, name, options, ahead } = workerData as { path: string; name: string; options: CsvSourceOptions; ahead: number };
const port = parentPort!;
let credits = ahead;
const credited = wakeUp();
port.on('message', (n: number) => {
  credits += n;
  credited.notify();
});
const post = (message: WorkerMessage) => port.postMessage(message);

try {
  for await (const batch of readCsvBatches(path, null, name, options)) {
    while (credits === 0) await credited.wait();
    credits--;
    post({ batch });
  }
  post({ done: true });
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  post({ error: { validation: e instanceof ValidationError, message: e.message, hint: e instanceof ValidationError ? e.hint : undefined, stack: e.stack } });
}
port.close();
