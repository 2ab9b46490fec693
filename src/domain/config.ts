// The settings `crm config get/set` accepts, with their defaults and parsers. A setting that is
// not listed here cannot be set, so a typo is an error rather than a silently ignored key.
import { UsageError } from './errors.js';
import { DATE_FORMATS } from './dates.js';
import { parseDuration } from './dates.js';

export interface Setting {
  key: string;
  description: string;
  default: string;
  /** Validates and normalises a value; throws UsageError. */
  parse(value: string): string;
}

const STAGES_WITH_PROBABILITY = ['lead', 'qualified', 'proposal', 'negotiation'] as const;
const DEFAULT_PROBABILITY: Record<string, number> = { lead: 10, qualified: 25, proposal: 50, negotiation: 75 };
const DEFAULT_SLA: Record<string, string> = { urgent: '4h', high: '8h', normal: '24h', low: '72h' };

function percent(key: string) {
  return (value: string) => {
    if (!/^\d{1,3}$/.test(value.trim()) || Number(value) > 100) {
      throw new UsageError(`${key} "${value}" is not a whole percentage from 0 to 100`);
    }
    return String(Number(value));
  };
}

function positiveInt(key: string) {
  return (value: string) => {
    if (!/^\d{1,6}$/.test(value.trim()) || Number(value) < 1) throw new UsageError(`${key} "${value}" is not a whole number of 1 or more`);
    return String(Number(value));
  };
}

export const SETTINGS: readonly Setting[] = [
  {
    key: 'currency',
    description: 'ISO 4217 code of the one currency this database records',
    default: 'CNY',
    parse: (value) => {
      const code = value.trim().toUpperCase();
      if (!/^[A-Z]{3}$/.test(code)) throw new UsageError(`currency "${value}" is not a 3-letter code such as CNY or USD`);
      return code;
    },
  },
  {
    key: 'date_format',
    description: 'how ambiguous slashed dates are read: ymd, dmy or mdy (empty: reject them)',
    default: '',
    parse: (value) => {
      const v = value.trim().toLowerCase();
      if (v !== '' && !(DATE_FORMATS as readonly string[]).includes(v)) throw new UsageError(`date_format "${value}" is not one of ymd, dmy, mdy`);
      return v;
    },
  },
  ...Object.entries(DEFAULT_SLA).map(([priority, hours]) => ({
    key: `sla.${priority}`,
    description: `time to resolve ${priority === 'urgent' ? 'an' : 'a'} ${priority}-priority ticket (e.g. 4h, 2d)`,
    default: hours,
    parse: (value: string) => {
      parseDuration(value, `sla.${priority}`);
      return value.trim();
    },
  })),
  ...STAGES_WITH_PROBABILITY.map((stage) => ({
    key: `probability.${stage}`,
    description: `default win probability (%) of a deal in ${stage}`,
    default: String(DEFAULT_PROBABILITY[stage]),
    parse: percent(`probability.${stage}`),
  })),
  {
    key: 'churn_days',
    description: 'a customer with no purchase for this many days counts as churned',
    default: '180',
    parse: positiveInt('churn_days'),
  },
  {
    key: 'quiet_days',
    description: 'a customer with no activity for this many days is "going quiet" on the agenda',
    default: '30',
    parse: positiveInt('quiet_days'),
  },
  {
    key: 'change_log_days',
    description: 'db optimize prunes change-log entries (export --changed-since) older than this many days',
    default: '90',
    parse: positiveInt('change_log_days'),
  },
];

export function findSetting(key: string): Setting {
  const setting = SETTINGS.find((s) => s.key === key.trim().toLowerCase());
  if (!setting) {
    throw new UsageError(`unknown setting "${key}"`, { hint: `settings: ${SETTINGS.map((s) => s.key).join(', ')}` });
  }
  return setting;
}
