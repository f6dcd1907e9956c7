// Short, operator-readable reasons an instance is not up. Never contains the password:
// Redis's own replies do not echo it, and anything that might is scrubbed anyway.

const BY_CODE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connect timeout',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS)',
  EPIPE: 'connection closed',
};

export function isReplyError(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'ReplyError';
}

export function describeRedisError(err: unknown, secret?: string): string {
  const e = err as { code?: string; message?: string } | null;
  let msg = (e?.code && BY_CODE[e.code]) || (e?.message ?? String(err));
  if (msg === 'Command timed out') msg = 'timeout (no reply)';
  else if (msg === 'Connection is closed.') msg = 'connection closed';
  else if (msg.startsWith("Stream isn't writeable")) msg = 'connection closed'; // the socket went away under a ready client
  msg = msg.replace(/\s+/g, ' ').trim();
  if (msg.length > 300) msg = `${msg.slice(0, 300)}…`;
  return scrub(msg, secret);
}

/** Replaces any occurrence of `secret` in `text`. */
export function scrub(text: string, secret?: string): string {
  return secret && secret.length >= 1 && text.includes(secret) ? text.split(secret).join('[redacted]') : text;
}
