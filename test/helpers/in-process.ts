// Runs the built crm inside the test process instead of spawning a new node for every command: a
// worker thread keeps the bundle loaded and calls its `main` (test/helpers/crm-worker.mjs). A spawn
// costs 0.2–0.4 s of node start-up and bundle loading; a run in the worker costs what the command
// itself costs, which is most of the suite's wall time (issue 19).
//
// It is the same `main` a real process runs, given the same argv, environment, stdin and working
// folder; only what a real process adds around it is missing (signals, a TTY, the exit itself), so
// tests of those spawn a real process (see `needsProcess` in cli.ts). test/cli/in-process.test.ts
// runs the same commands both ways and compares.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Runner {
  port: MessagePort;
  flag: Int32Array;
}

let runner: Runner | undefined;

function start(bundle: string): Runner {
  const shared = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./crm-worker.mjs', import.meta.url), {
    workerData: { port: port2, shared, bundle },
    transferList: [port2],
  });
  // Neither keeps the test process alive once its tests are done.
  worker.unref();
  port1.unref();
  return { port: port1, flag: new Int32Array(shared) };
}

/**
 * Runs `main` with argv (as process.argv would be: node, script, args…) and waits for it,
 * synchronously. The working folder is the process's own (a worker cannot have another), so it is
 * changed for the run and put back: nothing else runs in this thread meanwhile.
 */
export function runInProcess(bundle: string, argv: readonly string[], env: NodeJS.ProcessEnv, input: string | Buffer, cwd: string | undefined, limitMs: number): InProcessResult {
  runner ??= start(bundle);
  const { port, flag } = runner;
  const before = process.cwd();
  Atomics.store(flag, 0, 0);
  if (cwd) process.chdir(cwd);
  try {
    port.postMessage({ argv: [...argv], env: { ...env }, input: typeof input === 'string' ? input : new Uint8Array(input) });
    const deadline = Date.now() + limitMs;
    while (Atomics.load(flag, 0) === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(flag, 0, 0, left) === 'timed-out') {
        runner = undefined; // a stuck worker is abandoned; the next run starts a new one
        throw new Error(`in-process crm ${argv.slice(2).join(' ')} did not finish in ${limitMs / 1000} s`);
      }
    }
  } finally {
    if (cwd) process.chdir(before);
  }
  const reply = receiveMessageOnPort(port);
  if (!reply) throw new Error('in-process crm woke the test without an answer');
  return reply.message as InProcessResult;
}
