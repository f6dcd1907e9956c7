// The Redis commands the scheduler sends, each bounded by a timeout.
import type { Redis } from 'ioredis';
import { parseInfo } from './info.js';
import type { ObservedTriggers } from './policy.js';
import type { PersistenceInfo } from './types.js';

export { TimeoutError, withTimeout, errorText } from '../../common/index.js';
import { withTimeout, errorText } from '../../common/index.js';

export interface Poll {
  info: PersistenceInfo;
  triggers?: ObservedTriggers;
  /** CONFIG GET was refused (ACL, renamed command): the instance cannot be managed. */
  configError?: string;
}

function configValue(reply: unknown): string | undefined {
  return Array.isArray(reply) && reply.length >= 2 ? String(reply[1]) : undefined;
}

/** INFO (default sections) and, with `withConfig`, the trigger settings; one round trip. */
export async function pollInstance(client: Redis, withConfig: boolean, timeoutMs: number): Promise<Poll> {
  const p = client.pipeline().info();
  if (withConfig) {
    p.config('GET', 'save').config('GET', 'auto-aof-rewrite-percentage').config('GET', 'auto-aof-rewrite-min-size');
  }
  const res = await withTimeout(p.exec(), timeoutMs, 'INFO');
  if (!res) throw new Error('pipeline aborted');
  const [infoErr, infoText] = res[0]!;
  if (infoErr) throw infoErr;
  const out: Poll = { info: parseInfo(String(infoText)) };
  if (withConfig) {
    const errs = res
      .slice(1)
      .filter(([e]) => e)
      .map(([e]) => errorText(e));
    if (errs.length) {
      out.configError = `CONFIG GET refused: ${errs[0]}`;
    } else {
      const save = configValue(res[1]![1]);
      const pct = configValue(res[2]![1]);
      const min = configValue(res[3]![1]);
      if (save === undefined || pct === undefined || min === undefined) {
        out.configError = 'CONFIG GET returned no value for save / auto-aof-rewrite-*';
      } else {
        out.triggers = { save, aofRewritePercentage: Number(pct), aofRewriteMinSize: Number(min) };
      }
    }
  }
  return out;
}

/** Only the fork flags of every instance, right before a fork (cheap sections). */
export async function pollForkFlags(client: Redis, timeoutMs: number): Promise<PersistenceInfo> {
  const res = await withTimeout(client.pipeline().info('persistence').info('replication').exec(), timeoutMs, 'INFO');
  if (!res) throw new Error('pipeline aborted');
  for (const [e] of res) if (e) throw e;
  return parseInfo(`${String(res[0]![1])}\n${String(res[1]![1])}`);
}

export interface TakeoverResult {
  /** CONFIG SET refused: Redis's error. */
  error?: string;
  persisted: 'config-rewrite' | 'no-config-file' | 'failed';
  persistError?: string;
}

/** Sets the triggers to `values` and persists them when the instance has a config file. */
export async function setTriggers(
  client: Redis,
  values: { save: string; aofRewritePercentage: number },
  configFile: string,
  timeoutMs: number,
): Promise<TakeoverResult> {
  const res = await withTimeout(
    client
      .pipeline()
      .config('SET', 'save', values.save)
      .config('SET', 'auto-aof-rewrite-percentage', String(values.aofRewritePercentage))
      .exec(),
    timeoutMs,
    'CONFIG SET',
  );
  const err = res?.find(([e]) => e)?.[0];
  if (err) return { error: errorText(err), persisted: 'failed' };
  if (!configFile) return { persisted: 'no-config-file' };
  try {
    await withTimeout(client.config('REWRITE'), timeoutMs, 'CONFIG REWRITE');
    return { persisted: 'config-rewrite' };
  } catch (e) {
    return { persisted: 'failed', persistError: errorText(e) };
  }
}

/** CONFIG GET logfile / dir (best effort: undefined when refused). */
export async function readLogLocation(client: Redis, timeoutMs: number): Promise<{ logfile: string; dir: string } | undefined> {
  try {
    const res = await withTimeout(client.pipeline().config('GET', 'logfile').config('GET', 'dir').exec(), timeoutMs, 'CONFIG GET');
    if (!res || res.some(([e]) => e)) return undefined;
    return { logfile: configValue(res[0]![1]) ?? '', dir: configValue(res[1]![1]) ?? '' };
  } catch {
    return undefined;
  }
}

/** BGSAVE / BGREWRITEAOF; an error reply is returned as text, not thrown (it is classified). */
export async function startFork(client: Redis, kind: 'rdb' | 'aof', timeoutMs: number): Promise<{ reply: string; isError: boolean }> {
  try {
    const reply =
      kind === 'rdb'
        ? await withTimeout(client.bgsave(), timeoutMs, 'BGSAVE')
        : await withTimeout(client.bgrewriteaof(), timeoutMs, 'BGREWRITEAOF');
    return { reply: String(reply), isError: false };
  } catch (err) {
    return { reply: errorText(err), isError: true };
  }
}
