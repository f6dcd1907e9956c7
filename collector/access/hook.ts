// Who may call what: an onRequest hook checks the bearer token of every /api call and of
// /metrics (loopback included; /healthz and the console's static files stay open) against the route's
// `config.access` (default: viewer for GET, admin for anything else), and an onSend hook
// writes each mutating call to the audit log. 401 = no valid token, 403 = a token too weak.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../common/index.js';
import type { AuditStore } from './audit.js';
import { defaultAccess, roleAllows, type ApiRole } from './roles.js';
import type { ApiIdentity, ApiTokens } from './tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The weakest role allowed to call the route. */
    access?: ApiRole;
    /** What the call acts on, for the audit log (default: the URL parameters). */
    audit?: (req: FastifyRequest) => string;
  }
  interface FastifyRequest {
    identity?: ApiIdentity;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_TARGET = 200;

function deny(reply: FastifyReply, status: 401 | 403, message: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="redis-fleet"');
  return reply.code(status).send({ error: status === 401 ? 'unauthorized' : 'forbidden', message });
}

function bearer(req: FastifyRequest): string | { problem: string } {
  const h = req.headers.authorization;
  if (h === undefined || h === '') return { problem: 'missing token: send "Authorization: Bearer <token>"' };
  const m = /^Bearer +(\S+) *$/i.exec(h);
  return m ? m[1]! : { problem: 'malformed Authorization header: expected "Bearer <token>"' };
}

function target(req: FastifyRequest): string {
  const custom = req.routeOptions.config.audit;
  let t: string;
  try {
    t = custom ? custom(req) : Object.values((req.params ?? {}) as Record<string, string>).join(' ');
  } catch {
    t = '';
  }
  return t.length > MAX_TARGET ? `${t.slice(0, MAX_TARGET - 1)}…` : t;
}

export function registerAccess(app: FastifyInstance, deps: { tokens: ApiTokens; audit: AuditStore; logger: Logger }): void {
  const { tokens, audit, logger } = deps;

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!path.startsWith('/api/') && path !== '/metrics') return;
    if (tokens.count === 0) return deny(reply, 401, 'no API tokens are configured (http.tokenFile): every /api call is refused');
    const token = bearer(req);
    if (typeof token !== 'string') return deny(reply, 401, token.problem);
    const who = tokens.lookup(token);
    if (!who) return deny(reply, 401, 'unknown or revoked token');
    req.identity = who;
    const need = req.routeOptions.config.access ?? defaultAccess(req.method);
    if (!roleAllows(who.role, need)) {
      return deny(reply, 403, `token "${who.name}" has role ${who.role}; ${req.method} ${req.routeOptions.url ?? path} needs ${need}`);
    }
  });

  // onSend, not onResponse: the entry is stored before the caller sees the answer.
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.identity || !MUTATING.has(req.method)) return payload;
    const entry = {
      at: Date.now(),
      token: req.identity.name,
      role: req.identity.role,
      method: req.method,
      route: req.routeOptions.url ?? req.url.split('?')[0]!,
      target: target(req),
      status: reply.statusCode,
      remote: req.ip,
    };
    await audit.append(entry).catch((err: Error) => logger.warn({ error: err.message, route: entry.route }, 'audit entry not stored'));
    return payload;
  });

  app.get('/api/v1/whoami', async (req) => ({ name: req.identity!.name, role: req.identity!.role }));

  app.get<{ Querystring: { limit?: number; token?: string; since?: string } }>(
    '/api/v1/audit',
    {
      config: { access: 'admin' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 10_000 },
            token: { type: 'string', minLength: 1, maxLength: 64 },
            since: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
      },
    },
    async (req, reply) => {
      const { limit = 100, token, since } = req.query;
      const sinceMs = since === undefined ? undefined : /^\d+$/.test(since) ? Number(since) : Date.parse(since);
      if (sinceMs !== undefined && !Number.isFinite(sinceMs)) {
        return reply.code(400).send({
          error: 'invalid request',
          message: `since: must be unix milliseconds or an ISO 8601 time (got ${JSON.stringify(since)})`,
        });
      }
      const entries = await audit.list({ limit, token, since: sinceMs });
      return { entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })) };
    },
  );
}
