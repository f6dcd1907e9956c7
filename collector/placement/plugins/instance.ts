// Instance: room for one more instance — an idle instance that fits, or a free configured slot
// (slots − running − held − taken by this request). Only roles that occupy slots (redis).
import type { FilterPlugin } from '../framework.js';

export const instance: FilterPlugin = {
  name: 'Instance',
  prepare(ctx) {
    const { slots, running } = ctx.table;
    const held = ctx.holds.heldSlots;
    const extra = ctx.extraSlots;
    if (!ctx.usesSlots) return () => null;
    return (row) => {
      ctx.demand(row);
      if (ctx.demandIdle) return null;
      return slots[row]! - running[row]! - held[row]! - extra[row]! >= 1 ? null : 'no free instance slot';
    };
  },
};
