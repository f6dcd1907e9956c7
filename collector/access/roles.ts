// API roles, weakest first: each role may do everything the ones before it may.
export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export const isApiRole = (v: string): v is ApiRole => (API_ROLES as readonly string[]).includes(v);

export const roleAllows = (have: ApiRole, need: ApiRole): boolean => API_ROLES.indexOf(have) >= API_ROLES.indexOf(need);

/** What a route needs when it does not say: reading is for viewers, anything else for admins (a new route is never open by mistake). */
export const defaultAccess = (method: string): ApiRole => (method === 'GET' || method === 'HEAD' ? 'viewer' : 'admin');
