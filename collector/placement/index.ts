// Public surface of the capacity table and placement scheduler (docs/placement.md).
export { Placement, type Answer } from './service.js';
export { registerPlacementRoutes } from './api.js';
export { resolvePlacementConfig, PLACEMENT_DEFAULTS, PLACEMENT_ROLES, type PlacementConfig, type PlacementRole } from './config.js';
export { capacityView, type CapacityQuery } from './capacity-view.js';
export { CapacityTable, type IdleInstance } from './table.js';
export {
  PlacementContext,
  type PlacementRequest,
  type RoleThresholds,
  type FilterPlugin,
  type ScorePlugin,
  type HostFilter,
  type HostScore,
} from './framework.js';
export { FILTER_PLUGINS, SCORE_PLUGINS } from './plugins/index.js';
export { BUILTIN_PROFILES, DEFAULT_PROFILE, type Profile, type ProfileSpec } from './profiles.js';
export { schedule, explain, type Outcome, type MemberPlan, type Rejections } from './scheduler.js';
export type { Reservation, ReservationState } from './holds.js';
