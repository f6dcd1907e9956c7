#!/usr/bin/env -S node --max-semi-space-size=4 --no-memory-reducer
// redis-fleet-agent --config <file.yaml>
// The shebang's node flags size V8's heap for a small daemon (docs/benchmarks.md, "Agent cost");
// deploy/install.sh (launcher, unit), npm start and the test harness run the agent with them.
import { ConfigError, createLogger, daemonConfigPath, loadOrExit, progressed, startSdNotify } from '../common/index.js';
import { AGENT_VERSION } from './version.js';
import { loadAgentConfig } from './config.js';
import { startAgent, DEFAULT_FLUSH_MS, type AgentHandle } from './agent.js';

const PROGRAM = 'redis-fleet-agent';

const configFile = daemonConfigPath(PROGRAM, AGENT_VERSION, process.argv.slice(2));
const config = loadOrExit(PROGRAM, () => loadAgentConfig(configFile));
const logger = createLogger(PROGRAM, config.log.level);

let stopping = false;
let agent: AgentHandle | undefined;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  // Never hang on the way out: the flush is bounded, this is the backstop.
  setTimeout(() => process.exit(0), DEFAULT_FLUSH_MS + 3000).unref();
  try {
    await agent?.stop({ flushMs: DEFAULT_FLUSH_MS });
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', () => {
  void shutdown('SIGTERM');
});
process.on('SIGINT', () => {
  void shutdown('SIGINT');
});

// A signal during start exits at once (nothing buffered yet); after that it flushes.
agent = await startAgent(config, logger);
// systemd (Type=notify): READY=1 now; WATCHDOG=1 only while ticks complete (none for 3 intervals,
// at least 15 s, and the pings stop, so WatchdogSec restarts a hung agent).
const started = agent;
startSdNotify({
  logger,
  status: `ticking every ${config.intervalMs} ms`,
  healthy: progressed(() => started.stats().ticks, Math.max(3 * config.intervalMs, 15_000)),
});

if (config.metrics) {
  // prom-client (and the OpenTelemetry API it loads) only when metrics are served: ~80 modules.
  const { agentMetrics, serveAgentMetrics } = await import('./metrics.js');
  const { listen } = config.metrics;
  const served = await serveAgentMetrics(agentMetrics(started), config.metrics, logger).catch((err: NodeJS.ErrnoException) => {
    loadOrExit(PROGRAM, () => {
      throw new ConfigError('metrics.listen', `cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}`);
    });
    throw err;
  });
  logger.info({ metrics: `http://${served.address}/metrics` }, 'metrics listening');
}
