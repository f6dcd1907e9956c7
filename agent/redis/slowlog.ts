// SLOWLOG: entries reported once each. The cursor remembers the highest id seen per
// instance; ids keep counting through SLOWLOG RESET and start again at 0 after a restart
// (new run_id), which resets the cursor.
import type { SlowlogEntry } from '../../proto/index.js';

/**
 * Each tick reads only the newest entry (SLOWLOG GET 1: a tiny reply when nothing is new),
 * then, when it is new, the entries since the cursor, at most this many.
 */
export const SLOWLOG_MAX_FETCH = 128;

const MAX_ARGS = 16;
const MAX_ARG_CHARS = 64;
const MAX_COMMAND_CHARS = 512;
const MASK = '(redacted)';

/** Commands whose arguments are secrets from the given argument index on (lower-case). */
const SECRET_FROM: Record<string, number> = { auth: 1 };

/** Masks secrets in one command line (args[0] is the command name). Pure. */
export function maskSecrets(args: readonly string[]): string[] {
  const out = [...args];
  const cmd = (out[0] ?? '').toLowerCase();
  const sub = (out[1] ?? '').toLowerCase();
  const from = SECRET_FROM[cmd];
  if (from !== undefined) {
    for (let i = from; i < out.length; i++) out[i] = MASK;
  } else if (cmd === 'hello') {
    // HELLO [protover [AUTH username password] [SETNAME name]]
    for (let i = 1; i < out.length - 2; i++) if (out[i]!.toLowerCase() === 'auth') out[i + 2] = MASK;
  } else if (cmd === 'migrate') {
    // ... AUTH password | AUTH2 username password
    for (let i = 1; i < out.length; i++) {
      const a = out[i]!.toLowerCase();
      if (a === 'auth' && i + 1 < out.length) out[i + 1] = MASK;
      if (a === 'auth2' && i + 2 < out.length) out[i + 2] = MASK;
    }
  } else if (cmd === 'config' && sub === 'set') {
    for (let i = 2; i + 1 < out.length; i += 2) {
      if (/^(requirepass|masterauth|masteruser|tls-key-file-pass|tls-client-key-file-pass)$/i.test(out[i]!)) out[i + 1] = MASK;
    }
  } else if (cmd === 'acl' && sub === 'setuser') {
    // >password <password #hash !hash
    for (let i = 3; i < out.length; i++) if (/^[<>#!]/.test(out[i]!)) out[i] = MASK;
  }
  return out;
}

/** The command as one line: secrets masked, at most 16 args of 64 chars, 512 chars in all. */
export function formatSlowlogCommand(args: readonly string[]): string {
  const masked = maskSecrets(args);
  const shown = masked.slice(0, MAX_ARGS).map((a) => {
    const flat = a.replace(/[\r\n\t]/g, ' ');
    return flat.length > MAX_ARG_CHARS ? `${flat.slice(0, MAX_ARG_CHARS)}…` : flat;
  });
  if (masked.length > MAX_ARGS) shown.push(`… (${masked.length - MAX_ARGS} more arguments)`);
  const line = shown.join(' ');
  return line.length > MAX_COMMAND_CHARS ? `${line.slice(0, MAX_COMMAND_CHARS)}…` : line;
}

/** One raw SLOWLOG GET entry: [id, unix s, usec, [args], client addr, client name]. */
export function parseSlowlogReply(reply: unknown): SlowlogEntry[] {
  if (!Array.isArray(reply)) throw new Error('SLOWLOG GET: expected an array');
  const out: SlowlogEntry[] = [];
  for (const e of reply) {
    if (!Array.isArray(e) || e.length < 4) continue;
    const args = Array.isArray(e[3]) ? (e[3] as unknown[]).map((a) => String(a)) : [];
    out.push({
      id: Number(e[0]),
      timestamp: Number(e[1]),
      durationUsec: Number(e[2]),
      command: formatSlowlogCommand(args),
      client: e[4] === undefined ? '' : String(e[4]),
      clientName: e[5] === undefined ? '' : String(e[5]),
    });
  }
  return out;
}

export class SlowlogCursor {
  private lastId = -1;
  private runId = '';

  /** How many entries to fetch given the newest one (0: nothing new; 1: the newest is all). */
  toFetch(newest: SlowlogEntry | undefined, runId: string): number {
    if (!newest) return 0;
    const last = runId === this.runId && newest.id >= this.lastId ? this.lastId : -1;
    if (newest.id <= last) return 0;
    return last < 0 ? SLOWLOG_MAX_FETCH : Math.min(SLOWLOG_MAX_FETCH, newest.id - last);
  }

  /** The entries not reported yet, oldest first; advances the cursor. */
  take(entries: readonly SlowlogEntry[], runId: string): SlowlogEntry[] {
    if (runId !== this.runId) {
      this.runId = runId;
      this.lastId = -1;
    }
    const maxId = entries.reduce((m, e) => Math.max(m, e.id), -1);
    // Ids below the cursor with the same run_id: the counter went back (a restart the
    // run_id did not show, e.g. a failover to a replica at the same address).
    if (maxId >= 0 && maxId < this.lastId) this.lastId = -1;
    const fresh = entries.filter((e) => e.id > this.lastId).sort((a, b) => a.id - b.id);
    if (fresh.length) this.lastId = fresh[fresh.length - 1]!.id;
    return fresh;
  }
}
