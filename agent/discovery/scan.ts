import { assembleInstances } from './assemble.js';
import { readProcSnapshot } from './procfs.js';
import type { Discovered } from './types.js';

export interface DiscoverOptions {
  /** Default '/proc'. */
  procRoot?: string;
}

/** One procfs scan: the local redis-server, redis-sentinel, nutcracker and codis-proxy processes and their listening ports. */
export async function discoverLocal(opts: DiscoverOptions = {}): Promise<Discovered> {
  const scannedAt = Date.now();
  const t0 = performance.now();
  const snap = await readProcSnapshot(opts.procRoot ?? '/proc');
  const { instances, candidates, withoutListeners } = assembleInstances(snap);
  return {
    instances,
    scannedAt,
    stats: {
      pids: snap.pids,
      candidates,
      permissionDenied: snap.permissionDenied,
      vanished: snap.vanished,
      withoutListeners,
      wallMs: performance.now() - t0,
    },
  };
}
