// How a task is shown, shared by `crm task list` and `crm agenda`: the columns for people (table, md)
// and for data formats, one row per task, and the overdue highlight.
import { daysBetween, localDay } from '../domain/dates.js';
import { dueDay, formatDue, isOverdue } from '../domain/tasks.js';
import type { Column, Format, Row } from '../io/render.js';
import type { Task } from '../services/tasks.js';
import type { Context } from './context.js';

const HUMAN_FORMATS: readonly Format[] = ['table', 'md'];

/** Table and Markdown show the due date as people read it; data formats carry day and instant apart. */
export function taskColumns(ctx: Context, extra: readonly Column[] = []): Column[] {
  if (HUMAN_FORMATS.includes(ctx.format())) {
    return [
      { key: 'id', header: 'ID', kind: 'int' },
      { key: 'due', header: 'Due' },
      { key: 'customer' },
      { key: 'title' },
      { key: 'priority' },
      { key: 'assignee' },
      { key: 'every' },
      { key: 'state' },
      ...extra,
    ];
  }
  return [
    { key: 'id', kind: 'int' },
    { key: 'customer_id', kind: 'int' },
    { key: 'customer' },
    { key: 'title' },
    { key: 'due_date', kind: 'date' },
    { key: 'due_at', kind: 'timestamp' },
    { key: 'priority' },
    { key: 'assignee' },
    { key: 'every' },
    { key: 'status' },
    { key: 'overdue', kind: 'bool' },
    { key: 'deal_id', kind: 'int' },
    { key: 'ticket_id', kind: 'int' },
    { key: 'recurred_from', kind: 'int' },
    { key: 'done_at', kind: 'timestamp' },
    { key: 'note' },
    ...extra,
  ];
}

/** One task as a row; `day` is the local day "days late" is counted to (default: today). */
export function taskRow(task: Task, now: Date, day = localDay(now)): Row {
  const overdue = task.status === 'open' && isOverdue(task.due, now);
  return {
    id: task.id,
    customer_id: task.customerId,
    customer: task.customerName,
    title: task.title,
    due: formatDue(task.due),
    due_date: dueDay(task.due),
    due_at: task.due.hasTime ? task.due.dueAt : null,
    priority: task.priority,
    assignee: task.assignee,
    every: task.every,
    status: task.status,
    state: overdue ? 'overdue' : task.status,
    overdue,
    deal_id: task.dealId,
    ticket_id: task.ticketId,
    recurred_from: task.recurredFrom,
    done_at: task.doneAt,
    note: task.note,
    days_late: daysBetween(dueDay(task.due), day),
  };
}

export const highlightOverdue = (row: Row) => (row.overdue ? ('error' as const) : row.status === 'done' ? ('dim' as const) : undefined);
