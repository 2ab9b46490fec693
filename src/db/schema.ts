// Kysely's view of the schema in migrations/. Tables are snake_case; each has Selectable /
// Insertable / Updateable aliases for services. Timestamps are ISO 8601 UTC strings, calendar days
// `YYYY-MM-DD`, money integer cents.
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface ConfigTable {
  key: string;
  value: string;
}

export interface CustomersTable {
  id: Generated<number>;
  name: string;
  email: string | null;
  phone: string | null;
  phone_digits: string | null;
  age: number | null;
  gender: 'female' | 'male' | 'other' | null;
  company: string | null;
  city: string | null;
  source: string | null;
  /** The customer's number in the shop or ERP the data comes from; unique when given. */
  external_id: string | null;
  /**
   * Who looks after the customer (issue 15): on PostgreSQL a login role, by default the one who
   * added them; on SQLite empty unless given (the file has one person).
   */
  owner: Generated<string | null>;
  created_at: string;
  updated_at: string;
}

export interface TagsTable {
  id: Generated<number>;
  name: string;
}

export interface CustomerTagsTable {
  customer_id: number;
  tag_id: number;
}

export interface CustomerFieldsTable {
  customer_id: number;
  key: string;
  value: string;
}

export type ActivityType = 'call' | 'email' | 'meeting' | 'chat' | 'note';
export type Direction = 'in' | 'out';

export interface ActivitiesTable {
  id: Generated<number>;
  customer_id: number;
  type: ActivityType;
  direction: Direction | null;
  at: string;
  summary: string;
  created_at: string;
}

export interface ActivityLinksTable {
  from_id: number;
  to_id: number;
  kind: 'reply' | 'follows';
}

export interface SalesTable {
  id: Generated<number>;
  customer_id: number | null;
  product: string;
  quantity: Generated<number>;
  amount_cents: number;
  /** The local calendar day of the sale: what every report groups by. */
  sold_on: string;
  /** The instant of the sale (ISO 8601 UTC) when its time is known; null when only the day is. */
  sold_at: string | null;
  note: string | null;
  external_id: string | null;
  import_key: string | null;
  /** The shop's order (invoice) this sale is a line of. */
  order_id: string | null;
  /** The shop's stock code. */
  sku: string | null;
  unit_price_cents: number | null;
  /** The sale this row refunds (refund rows carry a negative amount). */
  refund_of: number | null;
  deal_id: number | null;
  created_at: string;
  voided_at: string | null;
  void_reason: string | null;
}

export type DealStage = 'lead' | 'qualified' | 'proposal' | 'negotiation' | 'won' | 'lost';

export interface DealsTable {
  id: Generated<number>;
  customer_id: number;
  title: string;
  value_cents: number;
  stage: DealStage;
  probability: number | null;
  close_date: string | null;
  lost_reason: string | null;
  won_sale_id: number | null;
  created_at: string;
  updated_at: string;
}

export interface DealStageHistoryTable {
  id: Generated<number>;
  deal_id: number;
  from_stage: DealStage | null;
  to_stage: DealStage;
  at: string;
  reason: string | null;
}

export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export type TicketKind = 'question' | 'problem' | 'complaint' | 'feedback';
export type TicketStatus = 'open' | 'pending' | 'resolved' | 'closed';

export interface TicketsTable {
  id: Generated<number>;
  customer_id: number;
  external_id: string | null;
  subject: string;
  description: string | null;
  priority: Priority;
  kind: TicketKind;
  status: TicketStatus;
  assignee: string | null;
  opened_at: string;
  due_at: string | null;
  first_response_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  solution: string | null;
  updated_at: string;
}

export interface TicketEventsTable {
  id: Generated<number>;
  ticket_id: number;
  at: string;
  kind: string;
  from_value: string | null;
  to_value: string | null;
  comment: string | null;
  actor: string | null;
}

export interface TicketRatingsTable {
  id: Generated<number>;
  ticket_id: number;
  score: number;
  comment: string | null;
  rated_at: string;
  superseded_at: string | null;
}

export interface SegmentsTable {
  id: Generated<number>;
  name: string;
  expression: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

/** A saved membership: one customer in a stored group such as `rfm:at-risk`, with its scores. */
export interface SegmentMembersTable {
  id: Generated<number>;
  segment: string;
  customer_id: number;
  recency: number | null;
  frequency: number | null;
  monetary: number | null;
  saved_at: string;
}

/** A saved churn-risk score (`crm customer risk --save`); a customer's latest row is their churn_risk. */
export interface RiskScoresTable {
  id: Generated<number>;
  customer_id: number;
  /** The probability (0–1) of not buying within the horizon. */
  probability: number;
  spend_12m_cents: number;
  revenue_at_risk_cents: number;
  /** The reasons in words, `; `-separated. */
  reasons: string;
  /** The suggested next action: call, offer, fix their open ticket. */
  action: string;
  as_of: string;
  horizon_days: number;
  saved_at: string;
}

export interface TasksTable {
  id: Generated<number>;
  customer_id: number;
  title: string;
  due_at: string;
  due_has_time: Generated<number>;
  assignee: string | null;
  priority: Generated<Priority>;
  deal_id: number | null;
  ticket_id: number | null;
  every: string | null;
  status: Generated<'open' | 'done'>;
  done_at: string | null;
  note: string | null;
  recurred_from: number | null;
  created_at: string;
  updated_at: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  actor: string;
  command: string;
  action: string;
  entity: string;
  entity_id: number | null;
  customer_id: number | null;
  summary: string | null;
  undone_by: number | null;
  undoes: number | null;
}

export interface AuditChangeTable {
  id: Generated<number>;
  log_id: number;
  table_name: string;
  row_id: number;
  op: 'insert' | 'update' | 'delete';
  before: string | null;
  after: string | null;
}

/** A contiguous block of rows inserted by one audited bulk write (an import). */
export interface AuditRangeTable {
  id: Generated<number>;
  log_id: number;
  table_name: string;
  first_id: number;
  last_id: number;
}

/** An edit or removal of an exported row, in the order it happened (written by triggers). */
export interface RowChangesTable {
  seq: Generated<number>;
  table_name: string;
  row_id: number;
  removed: Generated<number>;
  external_id: string | null;
}

/** During a bulk import only: the table's rows from first_id on are the import's new rows. */
export interface ChangeFreshRowsTable {
  table_name: string;
  first_id: number;
}

/** Where the change log stood at an optimize, and when (crm's clock, ISO): what a later one may prune. */
export interface RowChangeMarksTable {
  position: number;
  marked_at: string;
}

/** At most one row: the highest change-log position pruned; cursors before it are refused. */
export interface RowChangeHorizonTable {
  position: number;
}

/** One row: the database's own id, which export cursors carry. */
export interface DatabaseIdentityTable {
  id: string;
}

export interface DB {
  config: ConfigTable;
  customers: CustomersTable;
  tags: TagsTable;
  customer_tags: CustomerTagsTable;
  customer_fields: CustomerFieldsTable;
  activities: ActivitiesTable;
  activity_links: ActivityLinksTable;
  sales: SalesTable;
  deals: DealsTable;
  deal_stage_history: DealStageHistoryTable;
  tickets: TicketsTable;
  ticket_events: TicketEventsTable;
  ticket_ratings: TicketRatingsTable;
  segments: SegmentsTable;
  segment_members: SegmentMembersTable;
  risk_scores: RiskScoresTable;
  tasks: TasksTable;
  audit_log: AuditLogTable;
  audit_change: AuditChangeTable;
  audit_range: AuditRangeTable;
  row_changes: RowChangesTable;
  change_fresh_rows: ChangeFreshRowsTable;
  database_identity: DatabaseIdentityTable;
  row_change_marks: RowChangeMarksTable;
  row_change_horizon: RowChangeHorizonTable;
}

export type CustomerRow = Selectable<CustomersTable>;
export type NewCustomer = Insertable<CustomersTable>;
export type CustomerUpdate = Updateable<CustomersTable>;
export type ActivityRow = Selectable<ActivitiesTable>;
export type SaleRow = Selectable<SalesTable>;
export type DealRow = Selectable<DealsTable>;
export type TicketRow = Selectable<TicketsTable>;
export type SegmentRow = Selectable<SegmentsTable>;
export type TaskRow = Selectable<TasksTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
export type AuditChangeRow = Selectable<AuditChangeTable>;
