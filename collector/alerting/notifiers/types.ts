// What every notifier implements, and the delivery outcome the outbox acts on.
import type { Notification } from '../types.js';

export interface SendContext {
  /** Stable across retries of the same outbox entry (idempotency key, e.g. Standard Webhooks `webhook-id`). */
  id: string;
  now: number;
  timeoutMs: number;
}

export interface Notifier {
  send(n: Notification, ctx: SendContext): Promise<void>;
}

/** A failed delivery: retryable ones (5xx, 429, timeouts, throttling codes) go back to the outbox with backoff. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface NotifierDefaults {
  sendResolved: boolean;
  /** Messages per minute the channel accepts (a token bucket); undefined = no limit. */
  ratePerMinute?: number;
  /** Whether queued notifications may be folded into one digest message when rate-limited. */
  mergeable: boolean;
}

/** One notifier kind: its config schema (one entry of `receivers[].<kind>`), defaults and factory. */
export interface NotifierKind {
  kind: string;
  /** ajv schema of one entry (common keys sendResolved, rateLimitPerMinute, timeout are added by the registry). */
  schema: Record<string, unknown>;
  defaults: NotifierDefaults;
  /** Builds the notifier; throws ConfigError (key relative to the entry) on a bad entry or unreadable secret. */
  create(config: Record<string, unknown>): Notifier;
}
