// `crm export`: not built yet (issue 7).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerExport(_program: Command, _runtime: Runtime): void {}
