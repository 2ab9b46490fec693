// `crm activity`: not built yet (issue 3).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerActivity(_program: Command, _runtime: Runtime): void {}
