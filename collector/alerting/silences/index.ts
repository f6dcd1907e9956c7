// Silences in Alertmanager's v2 shape: matchers with start and end, persisted; "delete"
// expires now (the silence stays listed as expired until pruned with the history).
import { randomUUID } from 'node:crypto';
import { compileMatcher, compileMatchers, type CompiledMatchers } from '../labels.js';
import type { SqliteAlertingStore, Silence } from '../store.js';
import type { Labels, Matcher } from '../types.js';

export type SilenceState = 'pending' | 'active' | 'expired';

export interface PostableSilence {
  id?: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

export class SilenceError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function silenceState(s: Silence, now: number): SilenceState {
  if (now >= s.endsAt) return 'expired';
  return now < s.startsAt ? 'pending' : 'active';
}

export class Silences {
  private readonly silences = new Map<string, { s: Silence; match: CompiledMatchers }>();

  constructor(private readonly store: SqliteAlertingStore) {
    for (const s of store.loadSilences()) this.silences.set(s.id, { s, match: compileMatchers(s.matchers) });
  }

  /** Ids of the active silences matching these labels. */
  silencedBy(labels: Labels, now = Date.now()): string[] {
    const out: string[] = [];
    for (const { s, match } of this.silences.values()) if (silenceState(s, now) === 'active' && match(labels)) out.push(s.id);
    return out;
  }

  list(now = Date.now()): (Silence & { state: SilenceState })[] {
    return [...this.silences.values()].map(({ s }) => ({ ...s, state: silenceState(s, now) })).sort((a, b) => b.updatedAt - a.updatedAt);
  }

  get(id: string): Silence | undefined {
    return this.silences.get(id)?.s;
  }

  /** Creates (or, with an id, updates) a silence; throws SilenceError (400/404) naming the problem. */
  upsert(body: PostableSilence, now = Date.now()): Silence {
    const matchers: Matcher[] = body.matchers.map((m, i) => {
      const matcher = { name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual ?? true };
      try {
        compileMatcher(matcher);
      } catch (err) {
        throw new SilenceError(400, `matchers[${i}]: ${(err as Error).message}`);
      }
      return matcher;
    });
    // A silence that matches everything would mute the whole fleet by accident.
    if (matchers.every((m) => !m.isEqual || (m.isRegex ? new RegExp(`^(?:${m.value})$`).test('') : m.value === ''))) {
      throw new SilenceError(400, 'matchers: at least one matcher must not match the empty string (the silence would match every alert)');
    }
    const startsAt = Date.parse(body.startsAt);
    const endsAt = Date.parse(body.endsAt);
    if (!Number.isFinite(startsAt)) throw new SilenceError(400, `startsAt: not an RFC 3339 time (got ${JSON.stringify(body.startsAt)})`);
    if (!Number.isFinite(endsAt)) throw new SilenceError(400, `endsAt: not an RFC 3339 time (got ${JSON.stringify(body.endsAt)})`);
    if (endsAt <= startsAt) throw new SilenceError(400, 'endsAt: must be after startsAt');
    if (endsAt <= now) throw new SilenceError(400, 'endsAt: must be in the future');
    let id = body.id;
    if (id !== undefined) {
      const old = this.silences.get(id);
      if (!old) throw new SilenceError(404, `silence ${id} not found`);
      if (silenceState(old.s, now) === 'expired') throw new SilenceError(400, `silence ${id} has expired and cannot be updated`);
    } else {
      id = randomUUID();
    }
    const s: Silence = { id, matchers, startsAt, endsAt, createdBy: body.createdBy, comment: body.comment, updatedAt: now };
    this.store.saveSilence(s);
    this.silences.set(id, { s, match: compileMatchers(matchers) });
    return s;
  }

  /** Expires a silence now; false when unknown. */
  expire(id: string, now = Date.now()): Silence | undefined {
    const e = this.silences.get(id);
    if (!e) return undefined;
    if (silenceState(e.s, now) !== 'expired') {
      e.s = { ...e.s, endsAt: now, startsAt: Math.min(e.s.startsAt, now), updatedAt: now };
      this.store.saveSilence(e.s);
    }
    return e.s;
  }

  /** A silence as another collector of the cluster wrote it. */
  merge(s: Silence): void {
    const old = this.silences.get(s.id);
    if (old && old.s.updatedAt >= s.updatedAt) return;
    this.store.merge(() => this.store.saveSilence(s));
    this.silences.set(s.id, { s, match: compileMatchers(s.matchers) });
  }

  /** Forgets silences expired before `before` (the store prunes its rows separately). */
  prune(before: number): void {
    for (const [id, e] of this.silences) if (e.s.endsAt < before) this.silences.delete(id);
  }
}

export function silenceView(s: Silence, now = Date.now()): Record<string, unknown> {
  return {
    id: s.id,
    status: { state: silenceState(s, now) },
    updatedAt: new Date(s.updatedAt).toISOString(),
    matchers: s.matchers,
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: new Date(s.endsAt).toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
  };
}
