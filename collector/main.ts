#!/usr/bin/env node
// redis-fleet-collector --config <file.yaml>
import { ConfigError, EX_CONFIG, createLogger, daemonConfigPath, loadOrExit, startSdNotify } from '../common/index.js';
import { COLLECTOR_VERSION, loadCollectorConfig, startCollector } from './index.js';

const PROGRAM = 'redis-fleet-collector';

const configFile = daemonConfigPath(PROGRAM, COLLECTOR_VERSION, process.argv.slice(2));
const config = loadOrExit(PROGRAM, () => loadCollectorConfig(configFile));
const logger = createLogger(PROGRAM, config.log.level);

let collector: Awaited<ReturnType<typeof startCollector>>;
try {
  collector = await startCollector(config, logger);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${PROGRAM}: config error: ${err.message}\n`);
    process.exit(EX_CONFIG);
  }
  logger.fatal({ error: (err as Error).message }, 'collector failed to start');
  process.exit(1);
}

// systemd (Type=notify): READY=1 once listening; WATCHDOG=1 while the HTTP API answers /healthz.
startSdNotify({ logger, status: `grpc ${collector.grpcAddress}, http ${collector.httpUrl}`, healthy: async () => (await fetch(`${collector.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) })).ok });

let stopping = false;
function stop(signal: string): void {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'stopping');
  collector.close().then(() => process.exit(0), (err: Error) => {
    logger.error({ error: err.message }, 'error while stopping');
    process.exit(1);
  });
}
process.on('SIGTERM', () => stop('SIGTERM'));
// SIGHUP re-reads the alert rule files (a bad set is logged and refused; the old one keeps running).
process.on('SIGHUP', () => { if (!stopping) collector.reloadRules(); });
process.on('SIGINT', () => stop('SIGINT'));
