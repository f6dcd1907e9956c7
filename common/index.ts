// Small pieces shared by agent/, collector/ and sentinel-guard/ (logging, config, backoff).
export * from './log.js';
export * from './config.js';
export * from './backoff.js';
export * from './sd-notify.js';
export * from './timeout.js';
export { editorSchema } from './editor-schema.js';
export * from './tls.js';
export * from './args.js';
export * from './records.js';
export * from './redis-name.js';
