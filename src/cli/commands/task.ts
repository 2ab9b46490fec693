// `crm task …`: follow-ups on customers — add (one customer, or every customer with a tag or in a segment),
// list by due window, done (noted on the timeline; recurring tasks come back), edit, rm.
import type { Command } from 'commander';
import { UsageError } from '../../domain/errors.js';
import {
  TASK_PRIORITIES,
  dueDay,
  formatDue,
  isOverdue,
  parseInterval,
  type Due,
  type Interval,
  type TaskPriority,
} from '../../domain/tasks.js';
import { parseChoice, parseInteger } from '../../domain/validation.js';
import type { AddTasksInput, Task } from '../../services/tasks.js';
import { dueParser, nonEmpty, parseDueFlag } from '../flags.js';
import { highlightOverdue, taskColumns, taskRow } from '../task-rows.js';
import { examples, type Runtime } from '../runtime.js';

interface AddFlags {
  title?: string;
  due?: string;
  assignee?: string;
  priority?: string;
  deal?: string;
  ticket?: string;
  every?: string;
  afterLastContact?: string;
  tag?: string;
  segment?: string;
}

interface ListFlags {
  due?: string;
  assignee?: string;
  customer?: string;
  status?: string;
}

interface EditFlags {
  title?: string;
  due?: string;
  assignee?: string;
  priority?: string;
  every?: string;
  deal?: string;
  ticket?: string;
}

const collectDescription = (task: Task) => `#${task.id} "${task.title}" for ${task.customerName}, due ${formatDue(task.due)}`;


function parseId(value: string, label: string): number {
  return parseInteger(value, label, 1);
}

/** `''` or `none` clears an optional value (assignee, every, deal, ticket) on edit. */
const clears = (value: string) => value.trim() === '' || value.trim().toLowerCase() === 'none';


export function registerTask(program: Command, { run }: Runtime): void {
  const task = program
    .command('task')
    .description('follow-ups: tasks and reminders on customers')
    .addHelpText('after', examples('crm task add 12 --title "Call back" --due "tomorrow 10:00"', 'crm task list --due overdue', 'crm task done 7 --note "Ordered"'));

  task
    .command('add')
    .description('add a task for a customer, or for every customer with a tag or in a saved segment')
    .argument('[customer]', 'id, email or unique name of the customer')
    .option('--title <text>', 'what to do (required)')
    .option('--due <when>', 'a day (2025-06-02, today, tomorrow, +3d, in 2w) or a local time (2025-06-02 09:30)')
    .option('--assignee <name>', 'who does it')
    .option('--priority <priority>', `one of ${TASK_PRIORITIES.join(', ')} (default normal)`)
    .option('--deal <id>', 'the deal it is about')
    .option('--ticket <id>', 'the ticket it is about')
    .option('--every <interval>', 'recurring: 1w, 2w, 1m, 3m, 10d… (comes back when done)')
    .option('--after-last-contact <interval>', 'due this long after the last contact with each customer, e.g. 30d')
    .option('--tag <tag>', 'add the task for every customer with this tag')
    .option('--segment <name>', 'add the task for every customer in this saved segment (or stored RFM group, e.g. rfm:at-risk)')
    .addHelpText(
      'after',
      examples(
        'crm task add li.wei@example.com --title "Send the quote" --due tomorrow',
        'crm task add 12 --title "Call back" --due "2025-06-02 09:30" --priority high --assignee anna',
        'crm task add 12 --title "Monthly check-in" --due 2025-06-30 --every 1m',
        'crm task add --tag vip --after-last-contact 30d --title "Check in"',
        'crm task add --segment lapsed-vip --title "Win-back call" --due +3d --assignee anna',
      ),
    )
    .action(
      run(async (ctx, customerRef: string | undefined, flags: AddFlags) => {
        const { addTasks } = await import('../../services/tasks.js');
        if (flags.tag !== undefined && flags.segment !== undefined) throw new UsageError('give either --tag or --segment, not both');
        const bulkFlag = flags.tag !== undefined ? '--tag' : flags.segment !== undefined ? '--segment' : undefined;
        const bulk = bulkFlag !== undefined;
        if (bulk && customerRef !== undefined) throw new UsageError(`give either a customer or ${bulkFlag}, not both`);
        if (bulk && (flags.deal !== undefined || flags.ticket !== undefined)) {
          throw new UsageError(`--deal and --ticket need a single customer, not ${bulkFlag}`);
        }
        if (flags.due !== undefined && flags.afterLastContact !== undefined) {
          throw new UsageError('give either --due or --after-last-contact, not both');
        }
        const now = ctx.now();
        const afterLastContact = flags.afterLastContact !== undefined ? parseInterval(flags.afterLastContact, '--after-last-contact') : undefined;
        const every = flags.every !== undefined ? parseInterval(flags.every) : null;
        const priority = flags.priority !== undefined ? parseChoice(flags.priority, TASK_PRIORITIES, '--priority') : 'normal';
        const dealId = flags.deal !== undefined ? parseId(flags.deal, '--deal') : null;
        const ticketId = flags.ticket !== undefined ? parseId(flags.ticket, '--ticket') : null;
        const parseDueText = await dueParser(ctx, flags.due !== undefined || ctx.interactive);

        const defaultTitle = afterLastContact ? `Follow up (${flags.afterLastContact!.trim()} after last contact)` : undefined;
        const [customer, title, due] = await ctx.require<[string | undefined, string, Due | undefined]>(
          bulk
            ? { flag: '<customer>', value: '', message: '', parse: () => undefined }
            : { flag: '<customer>', value: customerRef, message: 'Customer (id, email or name)', parse: nonEmpty('<customer>') },
          { flag: '--title', value: flags.title ?? defaultTitle, message: 'Title', parse: nonEmpty('--title') },
          afterLastContact
            ? { flag: '--due', value: '', message: '', parse: () => undefined }
            : { flag: '--due', value: flags.due, message: 'Due (YYYY-MM-DD, tomorrow, +3d or YYYY-MM-DD HH:MM)', parse: parseDueText },
        );

        let target: AddTasksInput['target'];
        if (flags.segment !== undefined) {
          // Members as the segment stands now; an unknown segment is exit 1 before anything is written.
          const { customerIdsInSegment } = await import('../../services/segments.js');
          const segment = flags.segment.trim();
          target = { customerIds: await customerIdsInSegment(await ctx.db(), segment, now), label: `in segment ${segment}` };
        } else {
          target = flags.tag !== undefined ? { tag: flags.tag.trim() } : { customer: customer! };
        }
        const result = await addTasks(
          await ctx.db(),
          {
            target,
            when: afterLastContact ? { afterLastContact } : { due: due! },
            title,
            assignee: flags.assignee?.trim() || null,
            priority,
            dealId,
            ticketId,
            every,
          },
          ctx.meta(),
        );

        const late = result.tasks.filter((t) => isOverdue(t.due, now));
        if (bulk) {
          const skipped = result.skipped ? ` (skipped ${result.skipped} already having an open "${title}" task)` : '';
          const whom = flags.segment !== undefined ? `in segment ${flags.segment.trim()}` : `tagged ${flags.tag}`;
          ctx.note(`added ${result.tasks.length} task${result.tasks.length === 1 ? '' : 's'} for customers ${whom}${skipped}`);
          if (late.length) ctx.warn(`${late.length} of them ${late.length === 1 ? 'is' : 'are'} due in the past, so already overdue`);
        } else {
          const added = result.tasks[0]!;
          ctx.note(`added task ${collectDescription(added)}`);
          if (late.length) ctx.warn(`the due date ${formatDue(added.due)} is in the past: the task is already overdue`);
        }
        if (result.tasks.length) await ctx.printText(result.tasks.map((t) => t.id).join('\n'));
      }),
    );

  task
    .command('list')
    .description('list tasks, earliest due first (open ones unless --status says otherwise)')
    .option('--due <window>', 'today, overdue (open tasks past due), this-week (Monday to Sunday) or a day: 2025-06-02, tomorrow, +3d')
    .option('--assignee <name>', 'only tasks assigned to this person')
    .option('--customer <customer>', 'only tasks of this customer (id, email or name)')
    .option('--status <status>', 'open (default), done or all')
    .addHelpText('after', examples('crm task list --due today', 'crm task list --due overdue --assignee anna', 'crm task list --customer 12 --status all --format json'))
    .action(
      run(async (ctx, flags: ListFlags) => {
        const { listTasks } = await import('../../services/tasks.js');
        const { resolveCustomer } = await import('../../services/customers.js');
        const now = ctx.now();
        const status = flags.status !== undefined ? parseChoice(flags.status, ['open', 'done', 'all'] as const, '--status') : 'open';
        let due: 'today' | 'overdue' | 'this-week' | { day: string } | undefined;
        if (flags.due !== undefined) {
          const window = flags.due.trim().toLowerCase();
          if (window === 'today' || window === 'overdue' || window === 'this-week') due = window;
          else {
            let day: string;
            try {
              const parsed = await parseDueFlag(ctx, flags.due);
              if (parsed.hasTime) throw new UsageError('a day, not a time');
              day = dueDay(parsed);
            } catch (error) {
              if (error instanceof UsageError) {
                throw new UsageError(`--due "${flags.due}" is not today, overdue, this-week or a day`, { hint: 'e.g. --due today, --due tomorrow, --due +3d, --due 2025-06-02' });
              }
              throw error;
            }
            due = { day };
          }
        }
        if (due === 'overdue' && status === 'done') throw new UsageError('--due overdue lists open tasks; it cannot be combined with --status done');
        const db = await ctx.db();
        const customerId = flags.customer !== undefined ? (await resolveCustomer(db, flags.customer)).id : undefined;
        const tasks = await listTasks(db, { due, assignee: flags.assignee?.trim(), customerId, status }, now);
        await ctx.print(taskColumns(ctx), tasks.map((t) => taskRow(t, now)), { highlight: highlightOverdue });
      }),
    );

  task
    .command('done')
    .description('mark a task done: notes it on the customer timeline, and schedules a recurring task again')
    .argument('<id>', 'task id')
    .option('--note <text>', 'what came of it (kept with the task and on the timeline)')
    .addHelpText('after', examples('crm task done 7', 'crm task done 7 --note "Ordered 20 more units"'))
    .action(
      run(async (ctx, id: string, flags: { note?: string }) => {
        const { completeTask } = await import('../../services/tasks.js');
        const result = await completeTask(await ctx.db(), { id: parseId(id, 'task id'), note: flags.note?.trim() || null }, ctx.meta());
        ctx.note(`done: task #${result.task.id} "${result.task.title}" (noted on ${result.task.customerName}'s timeline as activity #${result.activityId})`);
        if (result.next) ctx.note(`next: task ${collectDescription(result.next)}`);
      }),
    );

  task
    .command('edit')
    .description('change a task (give only what changes; "none" clears assignee, every, deal or ticket)')
    .argument('<id>', 'task id')
    .option('--title <text>', 'new title')
    .option('--due <when>', 'new due day or local time')
    .option('--assignee <name>', 'new assignee, or none')
    .option('--priority <priority>', TASK_PRIORITIES.join(', '))
    .option('--every <interval>', 'new recurrence (1w, 1m, 3m…), or none')
    .option('--deal <id>', 'link to a deal, or none')
    .option('--ticket <id>', 'link to a ticket, or none')
    .addHelpText('after', examples('crm task edit 7 --due "2025-06-03 15:00"', 'crm task edit 7 --assignee anna --priority urgent', 'crm task edit 7 --every none'))
    .action(
      run(async (ctx, id: string, flags: EditFlags) => {
        const { editTask } = await import('../../services/tasks.js');
        const now = ctx.now();
        const taskId = parseId(id, 'task id');
        const changes: {
          title?: string;
          due?: Due;
          assignee?: string | null;
          priority?: TaskPriority;
          every?: Interval | null;
          dealId?: number | null;
          ticketId?: number | null;
        } = {};
        if (flags.title !== undefined) changes.title = nonEmpty('--title')(flags.title);
        if (flags.due !== undefined) changes.due = await parseDueFlag(ctx, flags.due);
        if (flags.assignee !== undefined) changes.assignee = clears(flags.assignee) ? null : flags.assignee.trim();
        if (flags.priority !== undefined) changes.priority = parseChoice(flags.priority, TASK_PRIORITIES, '--priority');
        if (flags.every !== undefined) changes.every = clears(flags.every) ? null : parseInterval(flags.every);
        if (flags.deal !== undefined) changes.dealId = clears(flags.deal) ? null : parseId(flags.deal, '--deal');
        if (flags.ticket !== undefined) changes.ticketId = clears(flags.ticket) ? null : parseId(flags.ticket, '--ticket');
        const updated = await editTask(await ctx.db(), { id: taskId, changes }, ctx.meta());
        ctx.note(`updated task ${collectDescription(updated)}`);
        if (changes.due && updated.status === 'open' && isOverdue(updated.due, now)) {
          ctx.warn(`the due date ${formatDue(updated.due)} is in the past: the task is already overdue`);
        }
      }),
    );

  task
    .command('rm')
    .description('remove a task (asks first; --yes when not at a terminal)')
    .argument('<id>', 'task id')
    .addHelpText('after', examples('crm task rm 7', 'crm task rm 7 --yes'))
    .action(
      run(async (ctx, id: string) => {
        const { getTask, removeTask } = await import('../../services/tasks.js');
        const taskId = parseId(id, 'task id');
        const db = await ctx.db();
        const found = await getTask(db, taskId);
        await ctx.confirm(`remove task ${collectDescription(found)}?`);
        const removed = await removeTask(db, taskId, ctx.meta());
        ctx.note(`removed task #${removed.id} "${removed.title}"`);
      }),
    );
}
