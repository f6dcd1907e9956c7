// Health: the host's agent reported within hostDownAfterIntervals of its interval. A host that
// stops reporting drops out here without any timer.
import type { FilterPlugin } from '../framework.js';

export const health: FilterPlugin = {
  name: 'Health',
  prepare(ctx) {
    const { reportedAt, freshUntil } = ctx.table;
    const now = ctx.now;
    return (row) => {
      if (reportedAt[row] === 0) return 'no report yet';
      return freshUntil[row]! < now ? 'unhealthy' : null;
    };
  },
};
