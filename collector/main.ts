#!/usr/bin/env -S node --initial-old-space-size=128
// redis-fleet-collector --config <file.yaml>
// The shebang's node flag: V8 sizes a small heap's old generation so tightly that under ingest it
// starts a full collection every second or two, marking the whole heap each time; 128 MB before the
// first one leaves the few that Buffers force (docs/benchmarks.md, "The rest of the ingest path"). deploy/install.sh
// (launcher, unit), npm start and the test harness run the collector with it.
import { ConfigError, EX_CONFIG, configErrorLines, createLogger, daemonConfigPath, loadOrExit, startSdNotify } from '../common/index.js';
import http from 'node:http';
import https from 'node:https';
import { COLLECTOR_VERSION, loadCollectorConfig, startCollector } from './index.js';

const PROGRAM = 'redis-fleet-collector';

const configFile = daemonConfigPath(PROGRAM, COLLECTOR_VERSION, process.argv.slice(2));
const config = loadOrExit(PROGRAM, () => loadCollectorConfig(configFile));
const logger = createLogger(PROGRAM, config.log.level);

/** Whether our own API answers 2xx (HTTPS: our own certificate, so it is not verified here). */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { timeout: 5000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 300);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

let collector: Awaited<ReturnType<typeof startCollector>>;
try {
  // Internal, for the acks benchmark's peer only (test/bench/acks.bench.ts): the old ack-on-queue behaviour.
  collector = await startCollector(config, logger, { ackOnQueue: process.env.REDIS_FLEET_INTERNAL_ACK_ON_QUEUE === '1' });
} catch (err) {
  if (err instanceof ConfigError) {
    for (const line of configErrorLines(err)) process.stderr.write(`${PROGRAM}: config error: ${line}\n`);
    process.exit(EX_CONFIG);
  }
  logger.fatal({ error: (err as Error).message }, 'collector failed to start');
  process.exit(1);
}

// systemd (Type=notify): READY=1 once listening; WATCHDOG=1 while the HTTP API answers /healthz.
startSdNotify({
  logger,
  status: `grpc ${collector.grpcAddress}, http ${collector.httpUrl}`,
  healthy: () => answers(`${collector.httpUrl}/healthz`),
});

let stopping = false;
function stop(signal: string): void {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'stopping');
  collector.close().then(
    () => process.exit(0),
    (err: Error) => {
      logger.error({ error: err.message }, 'error while stopping');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', () => stop('SIGTERM'));
// SIGHUP re-reads the alert rule files (a bad set is logged and refused; the old one keeps running).
process.on('SIGHUP', () => {
  if (!stopping) collector.reloadRules();
});
process.on('SIGINT', () => stop('SIGINT'));
