// sentinel-guard: fences this host's Redis masters when the host is cut off from ZooKeeper and
// the Sentinel majority, and restores them safely. The agent runs it as its `guard` input.
export {
  SentinelGuard,
  masterZnodeFor,
  parseMasterZnode,
  type GuardEvent,
  type GuardInstance,
  type GuardView,
  type InstanceView,
  type Phase,
  type ZkState,
} from './guard.js';
export {
  FENCE_MODES,
  GUARD_DEFAULTS,
  guardBudget,
  guardConfigFromYaml,
  guardYamlSchema,
  instanceGuardYamlSchema,
  type FenceMode,
  type GuardBudget,
  type GuardConfig,
  type GuardYaml,
  type InstanceGuardOptions,
} from './config.js';
export { parseAclLine, NOWHERE } from './fence.js';
export { parseSentinelMessage, SENTINEL_CHANNELS } from '../sentinel/index.js';
export { failsafeVerdict, rightfulMaster, parseMasters, majorityOf, type SentinelRound } from './sentinels.js';
export { guardViewToProto } from './proto.js';
