// max-memory (spreading): the host left with the most unreserved memory wins.
import type { ScorePlugin } from '../framework.js';

export const maxMemory: ScorePlugin = {
  name: 'max-memory',
  lowerIsBetter: false,
  prepare: (ctx) => (row) => ctx.freeMemoryAfter(row),
};
