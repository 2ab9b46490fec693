// The deal pipeline's stages and the rules for moving between them. A deal runs
// lead → qualified → proposal → negotiation and closes as won or lost; stages may be skipped, a
// closed deal moves again only when reopened, and a lost deal always carries a reason.
import { UsageError } from './errors.js';

export const STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const;
export type Stage = (typeof STAGES)[number];
export const OPEN_STAGES = ['lead', 'qualified', 'proposal', 'negotiation'] as const;
/** The funnel order: lost is not a step on it. */
export const FUNNEL = ['lead', 'qualified', 'proposal', 'negotiation', 'won'] as const;

export function isClosed(stage: Stage): boolean {
  return stage === 'won' || stage === 'lost';
}

export function parseStage(input: string, label = 'stage'): Stage {
  const value = input.trim().toLowerCase();
  const found = STAGES.find((s) => s === value);
  if (!found) throw new UsageError(`${label} "${input}" is not a deal stage`, { hint: `stages: ${STAGES.join(', ')}` });
  return found;
}

/** Win probability (%) of a deal: its own, else the stage default; won is 100 and lost 0. */
export function effectiveProbability(stage: Stage, own: number | null, defaults: Readonly<Record<string, number>>): number {
  if (stage === 'won') return 100;
  if (stage === 'lost') return 0;
  return own ?? defaults[stage] ?? 0;
}

/** value × probability, rounded to whole cents (half away from zero). */
export function weightedCents(valueCents: number, probability: number): number {
  return Math.round((valueCents * probability) / 100);
}
