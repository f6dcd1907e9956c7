// Auto-discovery of local Redis, Sentinel, twemproxy and codis-proxy processes (procfs only, no forks).
export { discoverLocal, type DiscoverOptions } from './scan.js';
export { Discovery, DEFAULT_RESCAN_MS, instanceKey, type DiscoveryOptions } from './discovery.js';
export { resolveCredentials, parsePortRanges, portInSet, type CredentialRule, type ResolvedTarget, type PortSet } from './credentials.js';
export { mergeWithConfigured, namesInstance, type Merged } from './merge.js';
export { parseListenSockets, decodeHexAddress } from './net-tcp.js';
export {
  identifyProcess,
  parseRedisTitle,
  parseNutcrackerArgs,
  parseNutcrackerStatsInterval,
  parseCodisProxyArgs,
  splitCmdline,
  programName,
  type RedisTitle,
  type NutcrackerArgs,
  type CodisProxyArgs,
} from './identify.js';
export { parseCodisProxyToml, type CodisProxyToml } from './codis-config.js';
export { assembleInstances, type Assembled } from './assemble.js';
export type { ProcSnapshot, ProcessRecord } from './procfs.js';
export type {
  Discovered,
  DiscoveredInstance,
  DiscoveredKind,
  DiscoveredRedis,
  DiscoveredNutcracker,
  DiscoveredCodisProxy,
  ListenSocket,
  ScanStats,
} from './types.js';
