// The plugin registry: adding a plugin is its file plus one entry here.
import type { FilterPlugin, ScorePlugin } from '../framework.js';
import { capacity } from './capacity.js';
import { health } from './health.js';
import { instance } from './instance.js';
import { label } from './label.js';
import { maxMemory } from './max-memory.js';
import { minCpu } from './min-cpu.js';
import { minMemory } from './min-memory.js';
import { random } from './random.js';
import { role } from './role.js';

/** In the order a profile without its own list runs them: cheap checks first. */
export const FILTER_PLUGINS: readonly FilterPlugin[] = [health, role, label, instance, capacity];

export const SCORE_PLUGINS: readonly ScorePlugin[] = [minMemory, maxMemory, minCpu, random];

export const filterPlugin = (name: string): FilterPlugin | undefined => FILTER_PLUGINS.find((p) => p.name === name);
export const scorePlugin = (name: string): ScorePlugin | undefined => SCORE_PLUGINS.find((p) => p.name === name);
