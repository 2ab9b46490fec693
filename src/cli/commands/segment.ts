// `crm segment`: not built yet (issue 6).
import type { Command } from 'commander';
import type { Runtime } from '../program.js';

export function registerSegment(_program: Command, _runtime: Runtime): void {}
