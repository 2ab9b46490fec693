// The in-process crm of the test helpers (test/helpers/in-process.ts): a worker thread that keeps
// the built bundle loaded and runs its `main` once per message, with the arguments, environment and
// stdin of that run, collecting stdout and stderr. It answers on the shared port and wakes the test
// thread, which waits synchronously (Atomics.wait), so `runCrm` keeps its synchronous shape.
import { Readable, Writable } from 'node:stream';
import { homedir } from 'node:os';
import { workerData } from 'node:worker_threads';

const { port, shared, bundle } = workerData;
const flag = new Int32Array(shared);
const { main } = await import(bundle);

function sink() {
  const chunks = [];
  const stream = new Writable({
    write(chunk, encoding, callback) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

function answer(message) {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

let current;
// A failure that escapes main (a bug in crm, or in this worker) still answers the waiting thread.
process.on('uncaughtException', (error) => {
  if (current) answer({ code: -1, stdout: current.stdout.text(), stderr: `${current.stderr.text()}in-process crm crashed: ${error?.stack ?? error}\n` });
  current = undefined;
});

port.on('message', async ({ argv, env, input }) => {
  // This thread's own copy of the environment (pg and the libpq variables read it directly).
  for (const key of Object.keys(process.env)) delete process.env[key];
  // A key set to undefined is unset, as in a spawned process (process.env would keep 'undefined').
  for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
  const stdout = sink();
  const stderr = sink();
  current = { stdout, stderr };
  const stdin = Readable.from(input.length > 0 ? [Buffer.from(input)] : []);
  let code;
  try {
    code = await main({ argv, env: process.env, stdin, stdout: stdout.stream, stderr: stderr.stream, home: env.HOME ?? homedir() });
  } catch (error) {
    stderr.stream.write(`in-process crm threw: ${error?.stack ?? error}\n`);
    code = -1;
  }
  if (current) answer({ code, stdout: stdout.text(), stderr: stderr.text() });
  current = undefined;
});
