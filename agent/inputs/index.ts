// The input registry. Adding an input = one new file in this folder + one line here.
import type { InputFactory } from './input.js';
import { dashboardsInput } from './dashboards.js';
import { discoveryInput } from './discovery.js';
import { guardInput } from './guard.js';
import { hostInput } from './host.js';
import { persistenceInput } from './persistence.js';
import { proxiesInput } from './proxies.js';
import { redisInput } from './redis.js';
import { sentinelsInput } from './sentinels.js';

export type { Input, InputContext, InputFactory } from './input.js';

export const INPUTS: Readonly<Record<string, InputFactory>> = {
  host: hostInput,
  discovery: discoveryInput,
  redis: redisInput,
  persistence: persistenceInput,
  proxies: proxiesInput,
  guard: guardInput,
  dashboards: dashboardsInput,
  sentinels: sentinelsInput,
};
