// `crm team …` and `crm whoami`: the people who share a PostgreSQL database, their roles, and who
// this session is. Passwords are asked twice on a terminal, read from stdin (--password-stdin) or
// generated (--generate-password, printed once); never taken from the command line, and sent to
// the server only as SCRAM verifiers.
import { Argument, Option, type Command } from 'commander';
import { PermissionError, UsageError, ValidationError } from '../../domain/errors.js';
import { refusal, TEAM_ROLES, type TeamRole } from '../../domain/permissions.js';
import { isPostgresUrl } from '../../db/postgres-url.js';
import type { Context } from '../context.js';
import { examples, type Runtime } from '../runtime.js';

interface PasswordFlags {
  passwordStdin?: boolean;
  generatePassword?: boolean;
}

function passwordOptions(command: Command): Command {
  return command
    .option('--password-stdin', 'read the password from stdin (the first line), for scripts')
    .option('--generate-password', 'make a random password and print it once on stdout');
}

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

/** The new password and whether crm made it (then it is printed once). */
async function newPassword(ctx: Context, flags: PasswordFlags, name: string): Promise<{ password: string; generated: boolean }> {
  if (flags.passwordStdin && flags.generatePassword) throw new UsageError('--password-stdin and --generate-password cannot be used together');
  if (flags.generatePassword) {
    const { generatePassword } = await import('../../db/scram.js');
    return { password: generatePassword(), generated: true };
  }
  let password: string;
  if (flags.passwordStdin) {
    password = (await readStdin(ctx.deps.stdin)).split(/\r?\n/)[0] ?? '';
  } else {
    if (!ctx.interactive) {
      throw new UsageError(`a password for ${name} is needed`, { hint: 'run in a terminal to type it, or use --password-stdin or --generate-password' });
    }
    password = await ctx.prompter().password(`Password for ${name}:`);
    const again = await ctx.prompter().password('Type it again:');
    if (again !== password) throw new ValidationError('the two passwords differ; nothing was changed');
  }
  if (password.length === 0) throw new ValidationError('the password is empty; nothing was changed');
  return { password, generated: false };
}

async function verifierOf(password: string): Promise<string> {
  const { scramVerifier } = await import('../../db/scram.js');
  return scramVerifier(password);
}

function parseRole(text: string): TeamRole {
  if ((TEAM_ROLES as readonly string[]).includes(text)) return text as TeamRole;
  throw new UsageError(`unknown role "${text}"`, { hint: `use one of: ${TEAM_ROLES.join(', ')}` });
}

/** On a SQLite file there is no team: one person, the file's owner. */
function requireTeamDatabase(ctx: Context): void {
  if (isPostgresUrl(ctx.dbPath())) return;
  throw new ValidationError('teams need a shared PostgreSQL database: a SQLite file is private to its owner (mode 0600), who is its only user', {
    hint: 'move the data to a server with `crm db copy --to postgres://HOST/DB`, then manage the team there (README: "Roles and access")',
  });
}

export function registerTeam(program: Command, { run }: Runtime): void {
  program
    .command('whoami')
    .description('who you are in this database: user, role, own-only and backend')
    .addHelpText('after', examples('crm whoami', 'crm --db postgres://mei@db.example.com/shop whoami --format json'))
    .action(
      run(async (ctx) => {
        const member = await ctx.teamMember();
        const record = member
          ? { user: member.user, role: member.role ?? 'none', own_only: member.ownOnly ? 'yes' : 'no', backend: 'postgresql' }
          : { user: ctx.actor.user, role: 'owner', own_only: 'no', backend: 'sqlite' };
        await ctx.printDocument([{ key: 'whoami', title: 'Who am I', columns: [{ key: 'user' }, { key: 'role' }, { key: 'own_only' }, { key: 'backend' }], record }]);
      }),
    );

  const team = program.command('team').description('manage who may use a shared PostgreSQL database, and as what (owners only)');
  team.addHelpText(
    'after',
    `\nRoles: owner (everything), manager (all but forgetting people and managing the team),
sales (customers, activities, tasks, sales, deals; --own: only the customers they own),
support (customers, activities, tasks, tickets), viewer (reads only). See README "Roles and access".\n`,
  );

  passwordOptions(
    team
      .command('add')
      .description('add a member: a PostgreSQL login role in the group of their role')
      .argument('<name>', 'login name on the PostgreSQL server (shared by all its databases)')
      .addOption(new Option('--role <role>', 'owner, manager, sales, support or viewer (required)').choices(TEAM_ROLES))
      .option('--own', 'a sales user who sees and changes only the customers they own'),
  )
    .addHelpText('after', examples('crm team add mei --role support', 'crm team add tom --role sales --own --generate-password', 'pass show crm/ana | crm team add ana --role manager --password-stdin'))
    .action(
      run(async (ctx, name: string, flags: PasswordFlags & { role?: string; own?: boolean }) => {
        requireTeamDatabase(ctx);
        if (!flags.role) throw new UsageError('missing required option --role', { hint: `one of: ${TEAM_ROLES.join(', ')}` });
        const role = parseRole(flags.role);
        const db = await ctx.db();
        const { password, generated } = await newPassword(ctx, flags, name);
        const { addMember } = await import('../../services/team.js');
        await addMember(db, { name, role, ownOnly: Boolean(flags.own), verifier: await verifierOf(password) }, ctx.now());
        if (generated) await ctx.printText(password);
        ctx.note(`added ${name} as ${role}${flags.own ? ' (own customers only)' : ''}${generated ? '; the password above is shown only this once' : ''}`);
      }),
    );

  team
    .command('list')
    .description('the members: name, role, own-only, enabled and when crm last changed them')
    .addHelpText('after', examples('crm team list', 'crm team list --format json'))
    .action(
      run(async (ctx) => {
        requireTeamDatabase(ctx);
        const db = await ctx.db();
        const { listTeam } = await import('../../services/team.js');
        const members = await listTeam(db);
        await ctx.print(
          [{ key: 'name' }, { key: 'role' }, { key: 'own_only' }, { key: 'enabled' }, { key: 'changed_at' }],
          members.map((m) => ({ name: m.name, role: m.role ?? 'none', own_only: m.ownOnly ? 'yes' : 'no', enabled: m.enabled ? 'yes' : 'no', changed_at: m.changedAt })),
        );
      }),
    );

  team
    .command('role')
    .description("change a member's role (the last owner cannot be demoted)")
    .argument('<name>', 'the member')
    .addArgument(new Argument('<role>', 'the new role').choices(TEAM_ROLES))
    .option('--own', 'only the customers they own (sales)')
    .option('--no-own', 'every customer')
    .addHelpText('after', examples('crm team role tom manager', 'crm team role ana sales --own'))
    .action(
      run(async (ctx, name: string, roleText: string, flags: { own?: boolean }) => {
        requireTeamDatabase(ctx);
        const role = parseRole(roleText);
        const db = await ctx.db();
        const { changeRole } = await import('../../services/team.js');
        const member = await changeRole(db, name, role, flags.own, ctx.now());
        ctx.note(`${name} is now ${member.role}${member.ownOnly ? ' (own customers only)' : ''}`);
      }),
    );

  passwordOptions(
    team
      .command('passwd')
      .description("change your password, or (owners) a member's")
      .argument('[name]', 'the member (default: you)'),
  )
    .addHelpText('after', examples('crm team passwd', 'crm team passwd tom --generate-password'))
    .action(
      run(async (ctx, name: string | undefined, flags: PasswordFlags) => {
        requireTeamDatabase(ctx);
        const db = await ctx.db();
        const me = (await ctx.teamMember())!;
        const target = name ?? me.user;
        const self = target === me.user;
        if (!self) {
          const refused = refusal(me.role, 'team passwd NAME');
          if (refused) throw new PermissionError(refused);
        }
        const { password, generated } = await newPassword(ctx, flags, target);
        const { changePassword } = await import('../../services/team.js');
        await changePassword(db, target, await verifierOf(password), self, ctx.now());
        if (generated) await ctx.printText(password);
        ctx.note(`changed the password of ${target}${generated ? '; the password above is shown only this once' : ''}`);
      }),
    );

  for (const [verb, enabled, what] of [
    ['disable', false, 'stop a member from connecting (their data and history stay)'],
    ['enable', true, 'let a disabled member connect again'],
  ] as const) {
    team
      .command(verb)
      .description(what)
      .argument('<name>', 'the member')
      .addHelpText('after', examples(`crm team ${verb} tom`))
      .action(
        run(async (ctx, name: string) => {
          requireTeamDatabase(ctx);
          const db = await ctx.db();
          const { setEnabled } = await import('../../services/team.js');
          await setEnabled(db, name, enabled, ctx.now());
          ctx.note(`${verb}d ${name}`);
        }),
      );
  }

  team
    .command('rm')
    .description('remove a member and drop their login role (the last owner cannot be removed)')
    .argument('<name>', 'the member')
    .addHelpText('after', examples('crm team rm tom'))
    .action(
      run(async (ctx, name: string) => {
        requireTeamDatabase(ctx);
        const db = await ctx.db();
        const { removeMember } = await import('../../services/team.js');
        const outcome = await removeMember(db, name);
        ctx.note(outcome === 'dropped' ? `removed ${name}` : `removed ${name} from this database's team; the login role stays, as another database's team uses it`);
      }),
    );
}
