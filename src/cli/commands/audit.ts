// `crm audit`: not built yet (issue 8).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerAudit(_program: Command, _runtime: Runtime): void {}
