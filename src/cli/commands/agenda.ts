// `crm agenda`: not built yet (issue 9).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerAgenda(_program: Command, _runtime: Runtime): void {}
