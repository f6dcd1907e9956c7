// min-CPU: the host with the lowest CPU usage (all cores, last report) wins.
import type { ScorePlugin } from '../framework.js';

export const minCpu: ScorePlugin = {
  name: 'min-CPU',
  lowerIsBetter: true,
  prepare(ctx) {
    const cpu = ctx.table.cpuPercent;
    return (row) => cpu[row]!;
  },
};
