// Access to the HTTP API: roles, hashed tokens, the checking hook, the audit log.
export { API_ROLES, isApiRole, roleAllows, type ApiRole } from './roles.js';
export {
  ApiTokens,
  generateApiToken,
  hashApiToken,
  formatTokenLine,
  parseApiTokens,
  readApiTokenFile,
  TOKEN_NAME,
  TOKEN_PREFIX,
  type ApiIdentity,
  type ApiTokenEntry,
} from './tokens.js';
export { SqliteAuditStore, type AuditEntry, type AuditLimits, type AuditQuery, type AuditStore } from './audit.js';
export { registerAccess } from './hook.js';
