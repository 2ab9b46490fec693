// `crm task`: not built yet (issue 9).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerTask(_program: Command, _runtime: Runtime): void {}
