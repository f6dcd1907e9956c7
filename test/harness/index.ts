// Real-server test harness: start Redis, Sentinel, ZooKeeper, InfluxDB, twemproxy and our own programs
// as child processes on free loopback ports in temp dirs, and always clean them up.
export { harness, Harness } from './harness.js';
export { waitFor, WaitAbort, type WaitOptions } from './wait.js';
export { freePort, waitForPort, canConnect, readToEnd, LOOPBACK } from './ports.js';
export {
  ManagedProcess,
  spawnManaged,
  makeTempDir,
  removeTempDir,
  tailFile,
  livePids,
  type ExitInfo,
  type SpawnOptions,
} from './process.js';
export { RedisServer, redisCall, parseInfo, waitForReplicaLink, type RedisOptions, type AclUser } from './redis.js';
export { SentinelServer, type SentinelOptions, type SentinelMasterSpec } from './sentinel.js';
export { TcpRelay } from './relay.js';
export { ZooKeeperServer, type ZooKeeperOptions } from './zookeeper.js';
export { PostgresServer, postgresBin, type PostgresOptions } from './postgres.js';
export { InfluxServer, type InfluxOptions, type InfluxQueryResult } from './influx.js';
export { VictoriaServer, VICTORIA_METRICS, type VictoriaOptions, type PromSeries } from './victoria.js';
export { NutcrackerServer, type NutcrackerOptions, type NutcrackerPool, type NutcrackerBackend } from './nutcracker.js';
export {
  CollectorProcess,
  AgentProcess,
  FleetProcess,
  DEFAULT_TOKEN,
  REPO_ROOT,
  PROGRAMS,
  programNodeFlags,
  waitWhileRunning,
  type CollectorOptions,
  type AgentOptions,
  type ProgramOptions,
  type RunResult,
  type LogLine,
  type LogMatcher,
  type FleetKind,
} from './fleet.js';
export { startAlertmanager, ALERTMANAGER, type AlertmanagerServer } from './alertmanager.js';
export { CodisProduct, CodisProcess, CodisProxyProcess, codisAdmin, CODIS_BIN, type CodisOptions, type CodisGroup } from './codis.js';
export { TestCa, makePki, type TestPki, type CertPair, type CertOptions } from './certs.js';
