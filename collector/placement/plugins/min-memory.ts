// min-memory (bin-packing, best fit): the host left with the least unreserved memory wins.
import type { ScorePlugin } from '../framework.js';

export const minMemory: ScorePlugin = {
  name: 'min-memory',
  lowerIsBetter: true,
  prepare: (ctx) => (row) => ctx.freeMemoryAfter(row),
};
