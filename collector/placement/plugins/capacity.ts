// Capacity: with this member added the host stays under the role's safety thresholds —
// maxmemory reservations (+ holds) within `memory` of total memory, the new memory within
// MemAvailable, CPU usage at most `cpu` percent, the data volume at most `disk` full.
import type { FilterPlugin } from '../framework.js';

export const capacity: FilterPlugin = {
  name: 'Capacity',
  prepare(ctx) {
    const { memTotal, memAvailable, maxmemoryReserved, cpuPercent, diskTotal, diskFree } = ctx.table;
    const held = ctx.holds.heldMemory;
    const extra = ctx.extraMemory;
    const { memory, cpu, disk } = ctx.thresholds;
    return (row) => {
      ctx.demand(row);
      const adding = held[row]! + extra[row]! + ctx.demandMemory;
      if (maxmemoryReserved[row]! + adding > memory * memTotal[row]!) return 'insufficient memory';
      if (adding > memAvailable[row]!) return 'insufficient memory';
      if (cpuPercent[row]! > cpu) return 'CPU busy';
      const total = diskTotal[row]!;
      if (total > 0 && (total - diskFree[row]!) / total > disk) return 'disk full';
      return null;
    };
  },
};
