// Public surface of the agent: config, start/stop, and the pure pieces other folders
// and tests use. Everything else in agent/ is internal.
export { loadAgentConfig, resolveAgentConfig, agentConfigSchema, AGENT_DEFAULTS, AGENT_ROLES } from './config.js';
export { buildStatus, readStatusFile, writeStatusFile, type AgentStatus } from './status.js';
export { Targets } from './targets.js';
export type { AgentConfig, RedisInstanceConfig, HostPort, AgentRole, LogLevel } from './config.js';
export { startAgent, DEFAULT_FLUSH_MS } from './agent.js';
export type { AgentHandle, AgentOptions, AgentRunStats } from './agent.js';
export { Accumulator } from './accumulator.js';
export { INPUTS } from './inputs/index.js';
export type { Input, InputContext, InputFactory } from './inputs/index.js';
export { RedisInput, CONFIG_EVERY_TICKS } from './inputs/redis.js';
export { HostInput } from './inputs/host.js';
export { ProxiesInput } from './inputs/proxies.js';
export { DashboardsInput } from './inputs/dashboards.js';
export { parseInfo, parseInfoColumns, InfoPicks, typeInfoValue, infoNumber, infoString } from './redis/info.js';
export type { ParsedInfo } from './redis/info.js';
export { computeRates, computeHeadroom, rateSnapshot, INVALID_RATES } from './redis/rates.js';
export type { RateSnapshot } from './redis/rates.js';
export { describeRedisError } from './redis/errors.js';
export { CLIENT_NAME } from './redis/instance.js';
export { formatSlowlogCommand, maskSecrets, parseSlowlogReply, SlowlogCursor } from './redis/slowlog.js';
export { computeCapacity } from './capacity.js';
export {
  parseProcStat,
  cpuPercent,
  parseLoadavg,
  parseMeminfo,
  parseDiskstats,
  parseNetDev,
  defaultRouteInterface,
  mountFor,
  physicalCores,
  osRelease,
} from './host/proc.js';
export { ReportBuffer } from './transport/buffer.js';
export type { BufferedReport } from './transport/buffer.js';
export { CollectorLink } from './transport/link.js';
export type { LinkOptions, LinkStats } from './transport/link.js';
export { AGENT_VERSION } from './version.js';
