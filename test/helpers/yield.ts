// Loaded before every test file (vitest.config.ts setupFiles). CLI tests run crm with spawnSync, so
// a file's tests can keep the worker's event loop busy for minutes without a turn; vitest's own
// calls to the main process then time out after 60 s ("Timeout calling onTaskUpdate") and the run
// fails although every test passed. One turn of the event loop before each test lets them through.
import { beforeEach } from 'vitest';

beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
