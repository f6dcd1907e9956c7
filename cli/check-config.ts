// `redis-fleet check-config agent|collector FILE`: the same validation the programs run at
// start; exit 0 with a summary, or 78 with the one line naming the key. Secrets are read
// (a missing token file is an error) but never printed.
import { ConfigError } from '../common/index.js';
import { loadAgentConfig } from '../agent/index.js';
import { loadCollectorConfig } from '../collector/index.js';

export function checkConfig(kind: string, file: string, json: boolean): { out: string; code: number } {
  try {
    if (kind === 'agent') {
      const c = loadAgentConfig(file);
      const summary = {
        ok: true,
        kind,
        file,
        hostId: c.hostId,
        roles: c.roles,
        intervalMs: c.intervalMs,
        redis: c.redis.length,
        proxies: c.proxies.length,
        discovery: c.discovery.enabled,
        persistence: c.persistence.enabled,
        collector: c.collector.addresses.map((a) => a.address),
      };
      return {
        out: json
          ? JSON.stringify(summary)
          : `${file}: ok (agent ${c.hostId}: ${c.redis.length} redis, ${c.proxies.length} proxies, discovery ${c.discovery.enabled ? 'on' : 'off'}, persistence scheduler ${c.persistence.enabled ? 'on' : 'off'}, interval ${c.intervalMs} ms)`,
        code: 0,
      };
    }
    if (kind === 'collector') {
      const c = loadCollectorConfig(file);
      const summary = {
        ok: true,
        kind,
        file,
        grpc: `${c.grpc.listen.host}:${c.grpc.listen.port}`,
        http: `${c.http.listen.host}:${c.http.listen.port}`,
        sink: c.influx ? 'influx' : 'embedded',
      };
      return {
        out: json
          ? JSON.stringify(summary)
          : `${file}: ok (collector: gRPC ${summary.grpc}, HTTP ${summary.http}, metrics in ${summary.sink === 'influx' ? 'InfluxDB' : 'the embedded store'})`,
        code: 0,
      };
    }
    return { out: `redis-fleet: check-config: unknown kind ${JSON.stringify(kind)} (agent or collector)`, code: 64 };
  } catch (err) {
    if (err instanceof ConfigError) {
      return {
        out: json
          ? JSON.stringify({ ok: false, kind, file, key: err.key, problem: err.problem })
          : `${file}: config error: ${err.key}: ${err.problem}`,
        code: 78,
      };
    }
    throw err;
  }
}
