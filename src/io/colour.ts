// Colour decisions in one place: only on a TTY, off with NO_COLOR or --no-color, on with FORCE_COLOR.
import { Chalk, type ChalkInstance } from 'chalk';

export type Colour = ChalkInstance;

export interface ColourInputs {
  isTTY: boolean;
  noColorFlag: boolean;
  env: NodeJS.ProcessEnv;
}

export function colourEnabled({ isTTY, noColorFlag, env }: ColourInputs): boolean {
  if (noColorFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return isTTY;
}

export function createColour(enabled: boolean): Colour {
  return new Chalk({ level: enabled ? 1 : 0 });
}
