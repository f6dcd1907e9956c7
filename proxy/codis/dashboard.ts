// A codis-dashboard (topom) → one DashboardSample: the product as the dashboard sees it,
// from one `GET /topom` (version, config, model and stats in one consistent document;
// reference/codis.md §5). Items: one per group, group server, Sentinel and proxy.
// The poller adds what one document cannot say: how long the migration queue has not moved.
import type { DashboardSample, ProxyItem } from '../../proto/index.js';
import { errorText, flag, float, int, str, type Fields } from '../fields.js';
import { redactXAuth } from './parse.js';
import { baseUrl, CODIS_MAX_BODY_BYTES, get } from './poll.js';
import { parseTopomOverview, type TopomOverview, type TopomStats } from './topom.js';

export interface CodisDashboardOptions {
  /** admin_addr of the dashboard, host:port. */
  adminAddress: string;
  /** Expected product; a dashboard of another product is misconfigured. Defaults to the dashboard's own. */
  productName?: string;
  name?: string;
  timeoutMs: number;
  maxBodyBytes?: number;
}

/** Slot action states in queue order (topom_slots.go). */
export const MIGRATION_STATES = ['pending', 'preparing', 'prepared', 'migrating', 'finished'] as const;
/** Replication-sync action states of group servers. */
const SYNC_FIELDS: Record<string, string> = { pending: 'sync_pending', syncing: 'sync_syncing', synced_failed: 'sync_failed' };

function item(kind: string, tags: Record<string, string>, fields: Fields): ProxyItem {
  return { kind, tags, fields };
}

/** The sample of one /topom document (pure). `misconfigured` is the reason, '' when none. */
export function dashboardSample(opts: { address: string; name?: string; productName?: string }, o: TopomOverview): DashboardSample {
  const product = o.model?.productName ?? o.config?.productName ?? '';
  const f: Fields = {};
  const items: ProxyItem[] = [];
  let reason = '';
  if (opts.productName && product && product !== opts.productName)
    reason = `dashboard serves product ${JSON.stringify(product)}, expected ${JSON.stringify(opts.productName)}`;
  else if (!o.stats) reason = 'the dashboard has no stats (not online: it does not hold the product lock)';
  f.misconfigured = flag(reason !== '');
  if (reason) f.misconfigured_reason = str(reason);
  if (o.version) f.version = str(o.version);
  if (o.model) {
    f.token = str(o.model.token);
    f.start_time = str(o.model.startTime);
  }
  if (o.stats) statsFields(o.stats, f, items);
  return { address: opts.address, product: opts.productName || product, name: opts.name ?? '', up: true, error: '', fields: f, items };
}

function statsFields(st: TopomStats, f: Fields, items: ProxyItem[]): void {
  f.closed = flag(st.closed);
  const slotsByGroup = new Map<number, number>();
  const queue: Record<string, number> = Object.fromEntries(MIGRATION_STATES.map((s) => [s, 0]));
  let assigned = 0;
  for (const s of st.slots) {
    if (s.groupId > 0) {
      assigned++;
      slotsByGroup.set(s.groupId, (slotsByGroup.get(s.groupId) ?? 0) + 1);
    }
    if (s.actionState) queue[s.actionState] = (queue[s.actionState] ?? 0) + 1;
  }
  f.slots_assigned = int(assigned);
  f.slots_unassigned = int(st.slots.length - assigned);
  let inQueue = 0;
  for (const state of MIGRATION_STATES) {
    f[`migration_${state}`] = int(queue[state] ?? 0);
    inQueue += queue[state] ?? 0;
  }
  f.migration_queue = int(inQueue);
  f.migration_disabled = flag(st.slotAction.disabled);
  f.migration_interval_us = int(st.slotAction.interval);
  f.migration_progress = str(st.slotAction.progress);

  let servers = 0,
    serversDown = 0,
    outOfSync = 0,
    promoting = 0;
  for (const g of st.groups) {
    const group = String(g.id);
    const sync: Record<string, number> = { sync_pending: 0, sync_syncing: 0, sync_failed: 0 };
    let down = 0;
    for (const s of g.servers) {
      const up = s.state === 'ok';
      if (!up) down++;
      const syncField = SYNC_FIELDS[s.actionState];
      if (syncField) sync[syncField]!++;
      const sf: Fields = {
        up: flag(up),
        timeout: flag(s.state === 'timeout'),
        is_master: flag(s.role === 'master'),
        sync_action: str(s.actionState),
      };
      if (s.error) sf.error = str(s.error);
      if (s.infoRole) sf.info_role = str(s.infoRole);
      if (s.masterAddr) sf.master_addr = str(s.masterAddr);
      if (s.masterLinkStatus) sf.master_link_status = str(s.masterLinkStatus);
      items.push(item('server', { group, server: s.addr }, sf));
    }
    servers += g.servers.length;
    serversDown += down;
    if (g.outOfSync) outOfSync++;
    if (g.promotingState) promoting++;
    const gf: Fields = {
      out_of_sync: flag(g.outOfSync),
      promoting: flag(g.promotingState !== '' && g.promotingState !== 'finished'),
      master: str(g.master),
      servers: int(g.servers.length),
      servers_unreachable: int(down),
      slots: int(slotsByGroup.get(g.id) ?? 0),
    };
    if (g.promotingState) gf.promoting_state = str(g.promotingState);
    for (const [k, v] of Object.entries(sync)) gf[k] = int(v);
    items.push(item('group', { group }, gf));
  }
  f.groups = int(st.groups.length);
  f.groups_out_of_sync = int(outOfSync);
  f.groups_promoting = int(promoting);
  f.servers = int(servers);
  f.servers_unreachable = int(serversDown);

  let sentinelsDown = 0;
  for (const s of st.sentinels.stats) {
    const up = s.state === 'ok';
    if (!up) sentinelsDown++;
    const sf: Fields = { up: flag(up), timeout: flag(s.state === 'timeout'), masters: int(s.monitored.length) };
    if (s.error) sf.error = str(s.error);
    items.push(item('sentinel', { sentinel: s.addr }, sf));
  }
  f.sentinels = int(st.sentinels.servers.length);
  f.sentinels_unreachable = int(sentinelsDown);
  f.sentinels_out_of_sync = flag(st.sentinels.outOfSync);

  const byState: Record<string, number> = { online: 0, offline: 0, closed: 0 };
  let proxiesDown = 0;
  for (const p of st.proxies) {
    if (p.state in byState) byState[p.state]!++;
    else proxiesDown++;
    const pf: Fields = {
      state: str(p.state),
      up: flag(p.stats !== undefined),
      online: flag(p.state === 'online'),
      token: str(p.token),
      proxy_addr: str(p.proxyAddr),
    };
    if (p.error) pf.error = str(p.error);
    if (p.stats) {
      pf.sessions_alive = int(p.stats.sessions.alive);
      pf.ops_qps = int(p.stats.ops.qps);
      pf.ops_fails = int(p.stats.ops.fails);
    }
    items.push(item('proxy', { proxy: p.adminAddr || p.token }, pf));
  }
  f.proxies = int(st.proxies.length);
  f.proxies_online = int(byState.online!);
  f.proxies_offline = int(byState.offline!);
  f.proxies_closed = int(byState.closed!);
  f.proxies_unreachable = int(proxiesDown);
}

/** One poll; never throws: a dashboard that does not answer (or answers garbage) is up=false with the error. */
export async function pollCodisDashboard(opts: CodisDashboardOptions): Promise<DashboardSample> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    const body = await get(
      baseUrl(opts.adminAddress),
      '/topom',
      '/topom',
      { signal: controller.signal, timeoutMs: opts.timeoutMs },
      opts.maxBodyBytes ?? CODIS_MAX_BODY_BYTES,
    );
    return dashboardSample({ address: opts.adminAddress, name: opts.name, productName: opts.productName }, parseTopomOverview(body));
  } catch (err) {
    return {
      address: opts.adminAddress,
      product: opts.productName ?? '',
      name: opts.name ?? '',
      up: false,
      error: redactXAuth(errorText(err)),
      fields: {},
      items: [],
    };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** pollCodisDashboard plus `migration_stalled_seconds`: how long a non-empty queue has not changed. */
export class CodisDashboardPoller {
  private queueShape = '';
  private since = 0;

  constructor(readonly options: CodisDashboardOptions) {}

  async poll(now = Date.now): Promise<DashboardSample> {
    const s = await pollCodisDashboard(this.options);
    if (s.up && s.fields.migration_queue) this.noteQueue(s, now());
    return s;
  }

  private noteQueue(s: DashboardSample, now: number): void {
    const n = (k: string) => {
      const v = s.fields[k];
      return v && 'int' in v ? v.int : 0;
    };
    if (n('migration_queue') === 0) {
      this.queueShape = '';
      s.fields.migration_stalled_seconds = float(0);
      return;
    }
    // Progress = any slot changing state, or the executor's progress line changing.
    const shape = JSON.stringify([...MIGRATION_STATES.map((st) => n(`migration_${st}`)), s.fields.migration_progress]);
    if (shape !== this.queueShape) {
      this.queueShape = shape;
      this.since = now;
    }
    s.fields.migration_stalled_seconds = float((now - this.since) / 1000);
  }
}
