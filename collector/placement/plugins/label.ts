// Label: every requested label equals the host's (env, city, idc, module, storage, …), and the
// host has the spreadBy label (a host outside every spread domain cannot be spread over).
import type { FilterPlugin } from '../framework.js';

export const label: FilterPlugin = {
  name: 'Label',
  prepare(ctx) {
    const columns: Int32Array[] = [];
    const wanted: number[] = [];
    let impossible = false;
    for (const [key, value] of Object.entries(ctx.request.labels)) {
      const col = ctx.table.labelColumn(key);
      const id = col ? col.idOf(value) : -1;
      if (!col || id < 0) impossible = true;
      else {
        columns.push(col.ids);
        wanted.push(id);
      }
    }
    const spreadKey = ctx.request.spreadBy;
    const spread = spreadKey !== undefined ? ctx.table.labelColumn(spreadKey)?.ids : undefined;
    const noSpreadLabel = `no ${spreadKey} label`;
    const k = columns.length;
    return (row) => {
      if (impossible) return 'label mismatch';
      for (let i = 0; i < k; i++) if (columns[i]![row] !== wanted[i]) return 'label mismatch';
      if (spreadKey !== undefined && (!spread || spread[row] === 0)) return noSpreadLabel;
      return null;
    };
  },
};
