// Polling helpers: tests await conditions instead of sleeping.
import fs from 'node:fs';
import path from 'node:path';

/** Thrown by a waitFor predicate to stop polling at once (e.g. the process being waited on died). */
export class WaitAbort extends Error {
  override name = 'WaitAbort';
}

export interface WaitOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Pause between polls (default 50 ms). */
  intervalMs?: number;
  /** What is being waited for; named in the timeout error. */
  what?: string;
}

export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `fn` until it returns a truthy value and returns that value. A predicate that throws counts as
 * "not yet" (the last error is quoted on timeout) unless it throws a WaitAbort, which is rethrown.
 * A single call that hangs is cut off at the overall deadline.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<Truthy<Awaited<T>>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const what = opts.what ?? 'condition';
  const startedAt = Date.now();
  const deadline = startedAt + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const remaining = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const cutOff = new Promise<typeof cutOffMark>((resolve) => {
        timer = setTimeout(() => resolve(cutOffMark), Math.max(remaining, 1));
      });
      const value = await Promise.race([Promise.resolve().then(fn), cutOff]);
      if (value !== cutOffMark && value) {
        noteWait(what, Date.now() - startedAt, timeoutMs, true);
        return value as Truthy<Awaited<T>>;
      }
      if (value === cutOffMark) lastError = new Error('the last check did not answer before the deadline');
    } catch (err) {
      if (err instanceof WaitAbort) throw err;
      lastError = err;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() + intervalMs > deadline) {
      const detail = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      noteWait(what, Date.now() - startedAt, timeoutMs, false);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await pause(intervalMs);
  }
}

const cutOffMark = Symbol('cut-off');

/** A wait that took this share of its timeout is worth knowing about: a loaded machine may push it over. */
const SLOW_SHARE = 0.4;

/**
 * With RF_SLOW_WAITS=<file>, a wait that took over 40 % of its timeout, or ran out, is appended
 * to that file as a JSON line: the waits a loaded CI machine brings near their limit, found
 * before they fail (test/harness/README.md).
 */
export function noteWait(what: string, tookMs: number, timeoutMs: number, ok: boolean): void {
  const file = process.env.RF_SLOW_WAITS;
  if (!file || (ok && tookMs < SLOW_SHARE * timeoutMs)) return;
  const test = path.basename(process.argv[1] ?? '');
  fs.appendFileSync(file, JSON.stringify({ test, what, tookMs, timeoutMs, ok }) + '\n');
}
