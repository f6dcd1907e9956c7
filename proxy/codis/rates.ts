// Per-second rates between two codis samples of the same proxy. codis keeps cumulative
// counters that restart with the process (a new start_time / pid / token in the model)
// and that `PUT /api/proxy/stats/reset` zeroes (counters go down): either is a reset,
// and no rate is computed across it.
import type { ProxySample } from '../../proto/index.js';
import { cloneSample, flag, float, itemKey, numField, strField, type Fields } from '../fields.js';

export interface CodisCommandRates {
  callsPerSec: number;
  failsPerSec: number;
  redisErrorsPerSec: number;
  /** Mean latency of the calls made during the interval (Δusec / Δcalls); undefined without calls. */
  usecPerCall: number | undefined;
}

export interface CodisRateResult {
  /** Rates below are meaningful. */
  valid: boolean;
  /** The counters restarted since the previous sample (restart or stats reset). */
  reset: boolean;
  /** Why the rates are not valid ('' when they are). */
  reason: string;
  seconds: number;
  opsPerSec: number;
  failsPerSec: number;
  redisErrorsPerSec: number;
  sessionsPerSec: number;
  /** By command name. */
  commands: Record<string, CodisCommandRates>;
}

interface Baseline {
  atMs: number;
  identity: string;
  fields: Fields;
  commands: Map<string, Fields>;
}

const COUNTERS = ['ops_total', 'ops_fails', 'ops_redis_errors', 'sessions_total'] as const;

function identityOf(s: ProxySample): string {
  // token alone does not change on restart (it hashes MACs, product and addresses).
  return [strField(s.fields, 'token') ?? '', strField(s.fields, 'start_time') ?? '', numField(s.fields, 'pid') ?? ''].join('|');
}

const invalid = (reason: string, reset: boolean): CodisRateResult => ({
  valid: false,
  reset,
  reason,
  seconds: 0,
  opsPerSec: 0,
  failsPerSec: 0,
  redisErrorsPerSec: 0,
  sessionsPerSec: 0,
  commands: {},
});

/** Keeps the last good sample of one proxy and rates each new one against it. */
export class CodisRates {
  private prev: Baseline | undefined;

  /** Rates of `sample` (taken at `atMs`) against the previous up sample; remembers this one. */
  update(sample: ProxySample, atMs: number): CodisRateResult {
    if (!sample.up) return invalid('proxy not up', false);
    const cur: Baseline = {
      atMs,
      identity: identityOf(sample),
      fields: sample.fields,
      commands: new Map(sample.items.filter((i) => i.kind === 'command').map((i) => [i.tags.command ?? '', i.fields])),
    };
    const prev = this.prev;
    this.prev = cur;
    if (!prev) return invalid('first sample', false);
    if (prev.identity !== cur.identity) return invalid('proxy restarted (new start_time/pid/token)', true);
    const seconds = (cur.atMs - prev.atMs) / 1000;
    if (!(seconds > 0)) return invalid('no time passed', false);
    const d: Record<string, number> = {};
    for (const c of COUNTERS) {
      const a = numField(prev.fields, c);
      const b = numField(cur.fields, c);
      if (a === undefined || b === undefined) return invalid(`${c} missing`, false);
      if (b < a) return invalid(`${c} went down (stats reset)`, true);
      d[c] = b - a;
    }
    const commands: Record<string, CodisCommandRates> = {};
    for (const [name, f] of cur.commands) {
      // A command absent before was first seen during the interval: its baseline is 0.
      const p = prev.commands.get(name);
      const delta = (k: string) => (numField(f, k) ?? 0) - (p ? (numField(p, k) ?? 0) : 0);
      const calls = delta('calls');
      const usec = delta('usec');
      const fails = delta('fails');
      const errs = delta('redis_errors');
      if (calls < 0 || usec < 0 || fails < 0 || errs < 0) continue;
      commands[name] = {
        callsPerSec: calls / seconds,
        failsPerSec: fails / seconds,
        redisErrorsPerSec: errs / seconds,
        usecPerCall: calls > 0 ? usec / calls : undefined,
      };
    }
    return {
      valid: true,
      reset: false,
      reason: '',
      seconds,
      opsPerSec: d.ops_total! / seconds,
      failsPerSec: d.ops_fails! / seconds,
      redisErrorsPerSec: d.ops_redis_errors! / seconds,
      sessionsPerSec: d.sessions_total! / seconds,
      commands,
    };
  }

  /**
   * A copy of `sample` with the rates as fields: `rates_valid`, `counters_reset`, and when
   * valid `ops_per_sec`, `fails_per_sec`, `redis_errors_per_sec`, `sessions_per_sec`; on
   * command items `calls_per_sec`, `fails_per_sec`, `redis_errors_per_sec` and
   * `interval_usec_per_call` (only when there were calls).
   */
  annotate(sample: ProxySample, atMs: number): ProxySample {
    const r = this.update(sample, atMs);
    if (!sample.up) return sample;
    return applyCodisRates(sample, r);
  }

  /** Forget the baseline (e.g. the proxy address changed). */
  clear(): void {
    this.prev = undefined;
  }
}

export function applyCodisRates(sample: ProxySample, r: CodisRateResult): ProxySample {
  const out = cloneSample(sample);
  out.fields.rates_valid = flag(r.valid);
  out.fields.counters_reset = flag(r.reset);
  if (!r.valid) return out;
  out.fields.ops_per_sec = float(r.opsPerSec);
  out.fields.fails_per_sec = float(r.failsPerSec);
  out.fields.redis_errors_per_sec = float(r.redisErrorsPerSec);
  out.fields.sessions_per_sec = float(r.sessionsPerSec);
  const seen = new Set<string>();
  for (const item of out.items) {
    if (item.kind !== 'command') continue;
    const c = r.commands[item.tags.command ?? ''];
    if (!c || seen.has(itemKey(item))) continue;
    seen.add(itemKey(item));
    item.fields.calls_per_sec = float(c.callsPerSec);
    item.fields.fails_per_sec = float(c.failsPerSec);
    item.fields.redis_errors_per_sec = float(c.redisErrorsPerSec);
    if (c.usecPerCall !== undefined) item.fields.interval_usec_per_call = float(c.usecPerCall);
  }
  return out;
}
