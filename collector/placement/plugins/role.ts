// Role: the host's agent runs with the requested role (redis, proxy or dashboard node).
import type { FilterPlugin } from '../framework.js';

export const role: FilterPlugin = {
  name: 'Role',
  prepare(ctx) {
    const bit = ctx.table.roleBit(ctx.request.role);
    const roles = ctx.table.roles;
    const reason = `not a ${ctx.request.role} node`;
    return (row) => ((roles[row]! & bit) === 0 ? reason : null);
  },
};
