// Public surface of the alerting module.
export { Alerting, type ReloadResult } from './engine.js';
export { resolveAlertingConfig, ALERTING_DEFAULTS, type AlertingConfig } from './config.js';
export { registerAlertingRoutes } from './api.js';
export { registerAlertmanagerV2Routes } from './api-v2.js';
export { RuleError, BUILTIN_RULES, BUILTIN_INHIBIT_RULES } from './rules/index.js';
export { NOTIFIERS, standardWebhookSignature, dingtalkSign, feishuSign, alertmanagerV4Body } from './notifiers/index.js';
export { fingerprint, parseMatcher } from './labels.js';
export type { Alert, Notification, Labels, Matcher } from './types.js';
