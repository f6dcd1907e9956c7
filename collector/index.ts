// Public surface of the collector.
export { startCollector, type Collector } from './collector.js';
export {
  loadCollectorConfig,
  resolveCollectorConfig,
  collectorConfigSchema,
  COLLECTOR_DEFAULTS,
  type CollectorConfig,
  type InfluxConfig,
} from './config.js';
export type { Point, FieldValue, Tags } from './points.js';
export type { PointQuery, HistoryQuery } from './history.js';
export type { MetricSink, SinkStats } from './sink.js';
export { COLLECTOR_VERSION } from './version.js';
export { reportPoints, type PointSource } from './points.js';
export {
  API_ROLES,
  isApiRole,
  formatTokenLine,
  generateApiToken,
  hashApiToken,
  parseApiTokens,
  TOKEN_NAME,
  type ApiRole,
} from './access/index.js';
