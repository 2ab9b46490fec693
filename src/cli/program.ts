// Builds the commander program: the global flags, then one register call per noun. Each noun's
// file in ./commands declares its subcommands and flags; heavy modules load inside actions.
import { Command, Option } from 'commander';
import { FORMATS } from '../io/render.js';
import { createContext, type Context, type Deps } from './context.js';
import { examples, type Runner, type Runtime } from './runtime.js';
import { registerActivity } from './commands/activity.js';
import { registerAgenda } from './commands/agenda.js';
import { registerAudit } from './commands/audit.js';
import { registerConfig } from './commands/config.js';
import { registerCustomer } from './commands/customer.js';
import { registerCustomerData } from './commands/customer-data.js';
import { registerDb } from './commands/db.js';
import { registerDeal } from './commands/deal.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerReport } from './commands/report.js';
import { registerReportTickets } from './commands/report-tickets.js';
import { registerRisk } from './commands/risk.js';
import { registerSale } from './commands/sale.js';
import { registerSegment } from './commands/segment.js';
import { registerSql } from './commands/sql.js';
import { registerTask } from './commands/task.js';
import { registerTeam } from './commands/team.js';
import { registerTicket } from './commands/ticket.js';

declare const __CRM_VERSION__: string;
export const VERSION = typeof __CRM_VERSION__ === 'string' ? __CRM_VERSION__ : '0.0.0-dev';

type Register = (program: Command, runtime: Runtime) => void;

/**
 * Every register function, in the order `crm --help` lists their commands, with the top-level
 * commands it adds or extends. Those that extend `customer` and `report` go with both.
 */
const REGISTERS: ReadonlyArray<readonly [readonly string[], Register]> = [
  [['customer', 'report'], registerCustomer],
  [['customer', 'report'], registerCustomerData],
  [['activity'], registerActivity],
  [['sale'], registerSale],
  [['deal'], registerDeal],
  [['ticket'], registerTicket],
  [['segment'], registerSegment],
  [['import'], registerImport],
  [['export'], registerExport],
  [['customer', 'report'], registerReport],
  [['customer', 'report'], registerReportTickets],
  // Adds `customer risk` and `report risk` to the nouns registered above.
  [['customer', 'report'], registerRisk],
  [['task'], registerTask],
  [['agenda'], registerAgenda],
  [['audit', 'undo'], registerAudit],
  [['sql'], registerSql],
  [['init', 'db'], registerDb],
  [['config'], registerConfig],
  [['whoami', 'team'], registerTeam],
];
const KNOWN = new Set(REGISTERS.flatMap(([names]) => names));
/** Global options that take a value (the next argument, unless written `--flag=value`). */
const GLOBAL_VALUES = new Set(['--db', '--key-file', '--format', '--output']);

/**
 * The top-level command the command line names, when it names a known one; undefined when the
 * whole program is needed (no command, `--help` before it, an unknown word). Building only that
 * command's tree saves every run building all ~100 commands' options (~15 ms of start-up); help,
 * errors and suggestions about a command only ever look at its own tree.
 */
function namedCommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--' || arg === '-h' || arg === '--help') return undefined;
    if (arg.startsWith('-')) {
      if (GLOBAL_VALUES.has(arg)) i++;
      continue;
    }
    return KNOWN.has(arg) ? arg : undefined;
  }
  return undefined;
}

export function buildProgram(deps: Deps): { program: Command; runtime: Runtime } {
  const contexts: Context[] = [];
  const run: Runner = (handler) => async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const ctx = createContext(deps, command);
    contexts.push(ctx);
    try {
      await handler(ctx, ...(args as never));
    } catch (error) {
      throw await ctx.explainFailure(error);
    }
  };

  const program = new Command('crm')
    .description('A local-first CRM for small businesses: customers, sales, deals and tickets in one SQLite file.')
    .version(VERSION, '-V, --version', 'print the version')
    .addOption(new Option('--db <path>', 'database file (default: $CRM_DB, else $XDG_DATA_HOME/crm/crm.db)'))
    .addOption(new Option('--key-file <file>', 'the key of an encrypted database (default: $CRM_KEY_FILE; see `crm db encrypt`)'))
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS))
    .addOption(new Option('--output <file>', 'write output to FILE atomically instead of stdout'))
    .addOption(new Option('--no-color', 'never colour output'))
    .addOption(new Option('--no-input', 'never prompt; fail on missing values instead'))
    .addOption(new Option('--yes', 'confirm destructive actions without asking'))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
      outputError: (text, write) => write(text),
    });
  program.addHelpText('after', examples('crm init', 'crm customer add --name "Li Wei" --email li.wei@example.com --city Shanghai', 'crm customer list --format csv > customers.csv'));

  const runtime: Runtime = { run, contexts };
  const wanted = namedCommand(deps.argv.slice(2));
  for (const [names, register] of REGISTERS) {
    if (wanted === undefined || names.includes(wanted)) register(program, runtime);
  }
  return { program, runtime };
}
