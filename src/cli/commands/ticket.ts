// `crm ticket`: not built yet (issue 5).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerTicket(_program: Command, _runtime: Runtime): void {}
