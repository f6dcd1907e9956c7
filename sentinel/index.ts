// Sentinel watching for the agent and sentinel-guard: event subscriptions, samples, and the
// parsers of Sentinel's replies and Pub/Sub messages.
export { SentinelWatch, SENTINEL_CHANNELS, type WatchOptions } from './watcher.js';
export { SentinelSampler, type SamplerOptions, type SamplerTarget } from './sampler.js';
export { pairs, parseCkquorum, parseMasters, parseSentinelMessage, splitAddress, type MasterView, type SentinelEvent } from './parse.js';
