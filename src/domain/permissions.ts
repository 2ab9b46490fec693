// Who may do what in a team's shared database (issue 15). PostgreSQL enforces it (grants and
// row-level security, see src/db/team-setup.ts); crm checks this table first only to refuse with a
// clear sentence before anything is written. Read commands are open to every role and are not
// listed; a command missing from the table is left to the database.

export const TEAM_ROLES = ['owner', 'manager', 'sales', 'support', 'viewer'] as const;
export type TeamRole = (typeof TEAM_ROLES)[number];

const WRITERS: readonly TeamRole[] = ['owner', 'manager', 'sales', 'support'];
const SELLERS: readonly TeamRole[] = ['owner', 'manager', 'sales'];
const SUPPORTERS: readonly TeamRole[] = ['owner', 'manager', 'support'];
const MANAGERS: readonly TeamRole[] = ['owner', 'manager'];
const OWNERS: readonly TeamRole[] = ['owner'];

export interface Permission {
  /** What the action is, after "may not": `void sales`. */
  does: string;
  roles: readonly TeamRole[];
}

const allow = (does: string, roles: readonly TeamRole[]): Permission => ({ does, roles });

/** Writing actions by command (`import KIND` and `… --save` name their variant). */
export const PERMISSIONS: Readonly<Record<string, Permission>> = {
  'customer add': allow('add customers', WRITERS),
  'customer edit': allow('edit customers', WRITERS),
  // Owners and managers (re)assign customers; a new customer is the adder's by default.
  'customer add --owner': allow('assign customers to an owner', MANAGERS),
  'customer edit --owner': allow('reassign customers', MANAGERS),
  'activity add': allow('add activities', WRITERS),
  'task add': allow('add tasks', WRITERS),
  'task edit': allow('edit tasks', WRITERS),
  'task done': allow('complete tasks', WRITERS),
  'task rm': allow('remove tasks', WRITERS),
  'segment create': allow('create segments', WRITERS),
  'segment rm': allow('remove segments', WRITERS),
  'segment rfm --save': allow('save RFM groups', WRITERS),
  'customer risk --save': allow('save churn-risk scores', WRITERS),
  'sale record': allow('record sales', SELLERS),
  'sale void': allow('void sales', SELLERS),
  'sale refund': allow('refund sales', SELLERS),
  'deal add': allow('add deals', SELLERS),
  'deal move': allow('move deals', SELLERS),
  'ticket open': allow('open tickets', SUPPORTERS),
  'ticket update': allow('update tickets', SUPPORTERS),
  'ticket resolve': allow('resolve tickets', SUPPORTERS),
  'ticket rate': allow('rate tickets', SUPPORTERS),
  'import customers': allow('import customers', WRITERS),
  'import activities': allow('import activities', WRITERS),
  'import sales': allow('import sales', SELLERS),
  'import tickets': allow('import tickets', SUPPORTERS),
  export: allow('export', MANAGERS),
  'customer export-data': allow('export a person\'s data', MANAGERS),
  'customer rm': allow('remove customers', MANAGERS),
  'customer merge': allow('merge customers', MANAGERS),
  undo: allow('undo', MANAGERS),
  'audit list': allow('read the audit trail', MANAGERS),
  'config set': allow('change settings', MANAGERS),
  'db backup': allow('back up the database', MANAGERS),
  'customer forget': allow('forget a person', OWNERS),
  'db restore': allow('restore the database', OWNERS),
  'db copy': allow('copy the database', OWNERS),
  'db migrate': allow('upgrade the database', OWNERS),
  'team add': allow('manage the team', OWNERS),
  'team role': allow('manage the team', OWNERS),
  'team passwd NAME': allow('change another member\'s password', OWNERS),
  'team disable': allow('manage the team', OWNERS),
  'team enable': allow('manage the team', OWNERS),
  'team rm': allow('manage the team', OWNERS),
};

/** What a member may not do: null when allowed (or unknown to the table: the database decides). */
export function refusal(role: TeamRole | null, action: string): string | null {
  const permission = PERMISSIONS[action];
  if (!permission) return null;
  if (role === null) return `you are not a member of this database's team, and only ${listRoles(permission.roles)} may ${permission.does}`;
  if (permission.roles.includes(role)) return null;
  return `${role === 'owner' ? 'an' : 'a'} ${role} user may not ${permission.does}`;
}

function listRoles(roles: readonly TeamRole[]): string {
  const names = roles.map((r) => `${r}s`);
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** True for a role name crm knows. */
export function isTeamRole(name: string): name is TeamRole {
  return (TEAM_ROLES as readonly string[]).includes(name);
}
