// `crm report`: not built yet (issue 4). `report tickets` (issue 5) lives in ./report-tickets.ts.
import type { Command } from 'commander';
import type { Runtime } from '../program.js';
import { registerReportTickets } from './report-tickets.js';

export function registerReport(program: Command, runtime: Runtime): void {
  const report = program.command('report').description('reports on customers, sales, pipeline and tickets');
  registerReportTickets(report, runtime);
}
