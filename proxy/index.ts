// Proxy adapters: codis-proxy (admin HTTP API) and twemproxy (raw-TCP stats port) →
// ProxySample, plus the codis dashboard's documents. Parsers and sample builders are pure;
// the pollers do the I/O. See proxy/README.md for every field.

export { ProxyParseError } from './json.js';

// --- codis-proxy ---
export {
  parseCodisStats,
  parseCodisModel,
  parseCodisSlots,
  parseCodisOverview,
  parseCodisError,
  redactXAuth,
  parseGoTime,
  stripMonotonic,
  CodisApiError,
  type CodisStats,
  type CodisCommandStats,
  type CodisRusage,
  type CodisRuntimeStats,
  type CodisProxyModel,
  type CodisSlot,
  type CodisProxyConfig,
  type CodisOverview,
  type CodisErrorBody,
} from './codis/parse.js';
export { codisXAuth, codisProxyXAuth, codisDashboardXAuth } from './codis/xauth.js';
export { summarizeCodisSlots, codisGroupMasters, type CodisSlotSummary, type CodisGroupRoute, type CodisMigration } from './codis/slots.js';
export { codisSample, type CodisSampleInput } from './codis/sample.js';
export { CodisRates, applyCodisRates, type CodisRateResult, type CodisCommandRates } from './codis/rates.js';
export {
  pollCodisProxy,
  fetchCodisProxy,
  CodisProxyPoller,
  CodisRequestError,
  CODIS_MAX_BODY_BYTES,
  type CodisPollOptions,
  type CodisFetchResult,
} from './codis/poll.js';
export { parseCodisInfluxLine, parseCodisStatsd, type CodisUsagePoint, type CodisStatsdGauges } from './codis/push.js';

// --- codis-dashboard (topom) ---
export {
  parseTopomStats,
  parseTopomModel,
  parseTopomOverview,
  parseTopomGroupInfo,
  parseTopomSentinelInfo,
  parseTopomSentinelMonitored,
  topomSentinelMajority,
  type TopomStats,
  type TopomGroup,
  type TopomServer,
  type TopomProxy,
  type TopomSentinel,
  type TopomMonitoredMaster,
  type TopomSlotMapping,
  type TopomModel,
  type TopomOverview,
  type TopomGroupInfo,
  type SentinelInfoSummary,
  type SentinelMajority,
  type TopomTargetState,
} from './codis/topom.js';
export {
  dashboardSample,
  pollCodisDashboard,
  CodisDashboardPoller,
  MIGRATION_STATES,
  type CodisDashboardOptions,
} from './codis/dashboard.js';

// --- twemproxy ---
export { parseTwemproxyStats, isTwemproxyGauge, type TwemproxyStats, type TwemproxyPool, type TwemproxyServer } from './twemproxy/parse.js';
export { twemproxySample, type TwemproxySampleOptions } from './twemproxy/sample.js';
export {
  twemproxyRates,
  poolTotals,
  type TwemproxyRateResult,
  type TwemproxyCounterRates,
  type TwemproxyServerRates,
} from './twemproxy/rates.js';
export { readTwemproxyStats, TwemproxyReadError, TWEMPROXY_MAX_STATS_BYTES, type TwemproxyReadOptions } from './twemproxy/read.js';
export {
  parseNutcrackerConfig,
  NUTCRACKER_DEFAULT_RETRY_TIMEOUT_MS,
  NUTCRACKER_DEFAULT_FAILURE_LIMIT,
  type NutcrackerPoolConfig,
} from './twemproxy/config.js';
export { TwemproxyPoller, pollTwemproxy, type TwemproxyPollerOptions, type TwemproxyPoll } from './twemproxy/poller.js';
