// Every migration, in order. A static list (not FileMigrationProvider) so the bundle and the tests
// load them without dynamic import(). Add new ones at the end; never edit or reorder landed ones.
import type { Migration } from 'kysely';
import * as m20261124_0001 from './20261124_0001_initial.js';
import * as m20261124_0002 from './20261124_0002_audit_ranges.js';
import * as m20261124_sales_0001 from './20261124_sales_0001_report_indexes.js';
import * as m20261124_segments_0001 from './20261124_segments_0001_saved_members.js';
import * as m20261125_segments_0002 from './20261125_segments_0002_city_age_index.js';
import * as m20261125_sales_0002 from './20261125_sales_0002_covering_indexes.js';
import * as m20261204_reliability_0001 from './20261204_reliability_0001_ids_never_reused.js';
import * as m20261204_churn_0001 from './20261204_churn_0001_risk_scores.js';
import * as m20261204_shop_0001 from './20261204_shop_0001_customer_external_ids.js';
import * as m20261204_shop_0002 from './20261204_shop_0002_order_lines.js';
import * as m20261205_shop_0001 from './20261205_shop_0001_refunds.js';
import * as m20261206_changes_0001 from './20261206_changes_0001_change_log.js';
import * as m20261206_changes_0002 from './20261206_changes_0002_change_triggers.js';
import * as m20261206_times_0001 from './20261206_times_0001_sale_times.js';
import * as m20261208_team_0001 from './20261208_team_0001_access_control.js';
import * as m20261209_changes_0003 from './20261209_changes_0003_postgres_change_log.js';
import * as m20261210_changes_0004 from './20261210_changes_0004_change_log_pruning.js';
import * as m20261211_sales_0003 from './20261211_sales_0003_order_id_in_covering_indexes.js';

export const migrations: Record<string, Migration> = {
  '20261124_0001_initial': m20261124_0001,
  '20261124_0002_audit_ranges': m20261124_0002,
  '20261124_sales_0001_report_indexes': m20261124_sales_0001,
  '20261124_segments_0001_saved_members': m20261124_segments_0001,
  '20261125_segments_0002_city_age_index': m20261125_segments_0002,
  '20261125_sales_0002_covering_indexes': m20261125_sales_0002,
  '20261204_reliability_0001_ids_never_reused': m20261204_reliability_0001,
  '20261204_churn_0001_risk_scores': m20261204_churn_0001,
  '20261204_shop_0001_customer_external_ids': m20261204_shop_0001,
  '20261204_shop_0002_order_lines': m20261204_shop_0002,
  '20261205_shop_0001_refunds': m20261205_shop_0001,
  '20261206_changes_0001_change_log': m20261206_changes_0001,
  '20261206_changes_0002_change_triggers': m20261206_changes_0002,
  '20261206_times_0001_sale_times': m20261206_times_0001,
  '20261208_team_0001_access_control': m20261208_team_0001,
  '20261209_changes_0003_postgres_change_log': m20261209_changes_0003,
  '20261210_changes_0004_change_log_pruning': m20261210_changes_0004,
  '20261211_sales_0003_order_id_in_covering_indexes': m20261211_sales_0003,
};
