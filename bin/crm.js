#!/usr/bin/env node
// Tiny entry: load the bundle and hand it the command line. Everything else lives in src/.
import { run } from '../dist/crm.js';

process.exitCode = await run(process.argv);
