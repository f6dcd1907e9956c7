import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

// Keys that may hold secrets anywhere in a logged object.
const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'secret',
  '*.secret',
  'headers.authorization',
  '*.headers.authorization',
];

/** JSON, one line per entry, to stdout; `name` says which process wrote it. */
export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  return pino({
    name,
    level: process.env.REDIS_FLEET_LOG_LEVEL ?? level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/**
 * Says a thing once per key until the key is cleared, so a condition that lasts
 * (an instance down, a refused command) is logged when it starts and when it ends,
 * not on every tick.
 */
export class OnceLog {
  private readonly active = new Map<string, string>();
  /** Returns true when `key` enters `state` (the caller logs); false when it already was. */
  enter(key: string, state: string): boolean {
    if (this.active.get(key) === state) return false;
    this.active.set(key, state);
    return true;
  }
  /** Returns true when `key` was in some state (the caller logs the recovery). */
  clear(key: string): boolean {
    return this.active.delete(key);
  }
  has(key: string): boolean {
    return this.active.has(key);
  }
}
