// `crm sql`: not built yet (issue 8).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerSql(_program: Command, _runtime: Runtime): void {}
