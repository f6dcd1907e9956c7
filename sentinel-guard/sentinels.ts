// Questions to the failover authority: one round asks every configured Sentinel for its masters
// (in parallel, one deadline for the round), and two verdicts are read from a round —
// the failsafe (a majority confirms this instance as a clean master) and the rightful master of a
// group (highest config epoch among a majority).
import { Redis } from 'ioredis';
import { errorText, nameWhenReady, withTimeout } from '../common/index.js';
import { parseMasters, splitAddress, type MasterView } from '../sentinel/index.js';

export { parseMasters, splitAddress, type MasterView };

export interface SentinelRound {
  atMs: number;
  total: number;
  majority: number;
  /** sentinel address → its masters by name. */
  answers: Map<string, Map<string, MasterView>>;
  /** sentinel address → why it did not answer in time. */
  errors: Map<string, string>;
}

export type Verdict = { ok: true; detail: string } | { ok: false; reason: string };

export function majorityOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

const isClean = (v: MasterView) => v.flags.length === 1 && v.flags[0] === 'master';

export class SentinelPanel {
  private readonly clients = new Map<string, Redis>();

  constructor(
    private readonly addresses: string[],
    private readonly opts: { password?: string; timeoutMs: number },
  ) {
    for (const a of addresses) {
      const [host, port] = splitAddress(a);
      const c = nameWhenReady(
        new Redis({
          host,
          port,
          password: opts.password,
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          connectTimeout: Math.max(opts.timeoutMs, 200),
          commandTimeout: opts.timeoutMs,
          enableReadyCheck: false,
          retryStrategy: (n: number) => Math.min(100 * n, 2000),
          disableClientInfo: true, // and no connectionName: named once ready (common/redis-name.ts)
        }),
        'redis-fleet-guard',
      );
      c.on('error', () => {
        /* reported through the round's errors */
      });
      this.clients.set(a, c);
    }
  }

  get total(): number {
    return this.addresses.length;
  }

  async connect(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.connect().catch(() => {})));
  }

  /** Asks every Sentinel `SENTINEL masters`; answers after the deadline do not count. */
  async round(): Promise<SentinelRound> {
    const round: SentinelRound = {
      atMs: Date.now(),
      total: this.total,
      majority: majorityOf(this.total),
      answers: new Map(),
      errors: new Map(),
    };
    await Promise.all(
      [...this.clients.entries()].map(async ([addr, c]) => {
        try {
          if (c.status === 'wait' || c.status === 'end') void c.connect().catch(() => {});
          round.answers.set(addr, parseMasters(await withTimeout(c.call('SENTINEL', 'masters'), this.opts.timeoutMs, 'SENTINEL masters')));
        } catch (err) {
          round.errors.set(addr, errorText(err));
        }
      }),
    );
    return round;
  }

  close(): void {
    for (const c of this.clients.values()) c.disconnect();
  }
}

/** Is `seen` (an address a Sentinel or ZooKeeper names) this instance? They may know the host by another IP (announceHost). */
export function isThisInstance(seen: string, address: string, announceHost?: string): boolean {
  if (seen === address) return true;
  if (!announceHost) return false;
  const [, port] = splitAddress(address);
  return seen === `${announceHost}:${port}`;
}

const pointsAt = (view: MasterView, address: string, announceHost?: string) => isThisInstance(view.address, address, announceHost);

/** The master name the Sentinels use for this instance, from any answer (used while healthy to learn it). */
export function nameFor(round: SentinelRound, address: string, announceHost?: string): string | undefined {
  for (const masters of round.answers.values()) {
    for (const v of masters.values()) if (pointsAt(v, address, announceHost)) return v.name;
  }
  return undefined;
}

/**
 * The failsafe: a majority of all configured Sentinels answered, and every answer names this
 * instance master of `name` with clean flags and one config epoch. Then ZooKeeper may be down but
 * the host is not cut off from the failover authority, and no failover can be under way.
 */
export function failsafeVerdict(round: SentinelRound, name: string | undefined, address: string, announceHost?: string): Verdict {
  const answered = round.answers.size;
  if (answered < round.majority)
    return { ok: false, reason: `only ${answered}/${round.total} Sentinels answered (need ${round.majority})` };
  // A master no answering Sentinel monitors cannot be failed over by them: the majority is
  // reachable, so this host is not cut off, and there is no race to fence against.
  if (!name) return { ok: true, detail: `${answered}/${round.total} Sentinels answered and none monitors this instance` };
  const epochs = new Set<number>();
  for (const [sentinel, masters] of round.answers) {
    const v = masters.get(name);
    if (!v) return { ok: false, reason: `Sentinel ${sentinel} does not monitor ${name}` };
    if (!pointsAt(v, address, announceHost)) return { ok: false, reason: `Sentinel ${sentinel} names ${v.address} master of ${name}` };
    if (!isClean(v)) return { ok: false, reason: `Sentinel ${sentinel} flags ${name} ${v.flags.join(',')}` };
    epochs.add(v.configEpoch);
  }
  if (epochs.size > 1) return { ok: false, reason: `Sentinels disagree on the config epoch of ${name} (${[...epochs].join(', ')})` };
  return { ok: true, detail: `${answered}/${round.total} Sentinels confirm this instance as master of ${name}` };
}

export type RightfulMaster =
  { known: true; address: string; configEpoch: number; clean: boolean; voters: number } | { known: false; reason: string };

/** The group's master by the Sentinel majority: the view with the highest config epoch. */
export function rightfulMaster(round: SentinelRound, name: string): RightfulMaster {
  if (round.answers.size < round.majority)
    return { known: false, reason: `only ${round.answers.size}/${round.total} Sentinels answered (need ${round.majority})` };
  let best: MasterView | undefined;
  let voters = 0;
  let conflict = false;
  for (const masters of round.answers.values()) {
    const v = masters.get(name);
    if (!v) continue;
    voters++;
    if (!best || v.configEpoch > best.configEpoch) {
      best = v;
      conflict = false;
    } else if (v.configEpoch === best.configEpoch && v.address !== best.address) conflict = true;
  }
  if (!best) return { known: false, reason: `no answering Sentinel monitors ${name}` };
  if (conflict) return { known: false, reason: `Sentinels name different masters of ${name} at config epoch ${best.configEpoch}` };
  const clean = !best.flags.some(
    (f) => f === 'failover_in_progress' || f === 'o_down' || f === 's_down' || f.startsWith('promoted') || f === 'disconnected',
  );
  return { known: true, address: best.address, configEpoch: best.configEpoch, clean, voters };
}
