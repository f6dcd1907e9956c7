// What inputs write into during one tick; the tick loop turns it into a Report.
import type {
  DashboardSample,
  Event,
  GuardState,
  HostMetrics,
  PersistenceState,
  ProxySample,
  RedisSample,
  SentinelSample,
} from '../proto/index.js';

export class Accumulator {
  host: HostMetrics | undefined;
  persistence: PersistenceState | undefined;
  guard: GuardState | undefined;
  readonly redis: RedisSample[] = [];
  readonly proxies: ProxySample[] = [];
  readonly dashboards: DashboardSample[] = [];
  readonly sentinels: SentinelSample[] = [];
  readonly events: Event[] = [];
  /** Inputs that failed as a whole this tick (name → message); their data is missing. */
  readonly errors = new Map<string, string>();

  /** `deadlineMs`: when the tick's report is due; a source not answered by then is reported down (agent.ts). */
  constructor(
    readonly tickStartMs: number,
    readonly deadlineMs = Number.POSITIVE_INFINITY,
  ) {}

  setHost(metrics: HostMetrics): void {
    this.host = metrics;
  }
  setPersistence(state: PersistenceState): void {
    this.persistence = state;
  }
  setGuard(state: GuardState): void {
    this.guard = state;
  }
  addRedis(sample: RedisSample): void {
    this.redis.push(sample);
  }
  addProxy(sample: ProxySample): void {
    this.proxies.push(sample);
  }
  addDashboard(sample: DashboardSample): void {
    this.dashboards.push(sample);
  }
  addSentinel(sample: SentinelSample): void {
    this.sentinels.push(sample);
  }
  addEvent(kind: string, instance: string, message: string, attrs: Record<string, string> = {}, timestampMs = Date.now()): void {
    this.events.push({ timestampMs, kind, instance, message, attrs });
  }
  addError(input: string, message: string): void {
    this.errors.set(input, message);
  }
}
