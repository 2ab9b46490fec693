// `crm report`: not built yet (issue 4).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerReport(_program: Command, _runtime: Runtime): void {}
