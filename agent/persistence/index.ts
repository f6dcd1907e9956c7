// Public surface of the agent's persistence scheduler (one fork per host, memory admission,
// Redis's own save / AOF-rewrite triggers taken over). See README.md in this folder.
export { PersistenceScheduler } from './scheduler.js';
export { persistenceStateToProto, queueEntryName } from './proto.js';
export {
  PERSISTENCE_DEFAULTS,
  resolveConfig,
  configFromYaml,
  instanceOptionsFromYaml,
  parseBytes,
  persistenceYamlSchema,
  instancePersistenceYamlSchema,
  type PersistenceYaml,
  type InstancePersistenceYaml,
} from './config.js';
export { readMemAvailableBytes } from './host.js';
// The pure decision functions, exported for tests and tools.
export {
  forkActivity,
  tokenHolder,
  forksRunning,
  forkBlocker,
  aofGrowthPercent,
  dueJobs,
  orderQueue,
  mastersBackedUpByReplica,
  recordCow,
  estimateCow,
  admits,
  pickNext,
  observeForks,
  newTracker,
  classifyStartReply,
  type ForkActivity,
  type TokenHolder,
  type DueInput,
  type CowHistory,
  type CowEstimate,
  type ForkTracker,
  type ForkObservation,
  type StartReply,
  type BackupCandidate,
} from './decide.js';
export {
  parseSavePoints,
  formatSavePoints,
  triggersOn,
  learnTriggers,
  effectivePolicy,
  TRIGGERS_OFF,
  type ObservedTriggers,
  type KnownTriggers,
} from './policy.js';
export { parseInfo, parseInfoText } from './info.js';
export type * from './types.js';
