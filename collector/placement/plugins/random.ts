// random: a uniform score per host and request (CacheCloud's allocator picks uniformly at
// random); with weight 1 next to a resource score it spreads without hot spots.
import type { ScorePlugin } from '../framework.js';

export const random: ScorePlugin = {
  name: 'random',
  lowerIsBetter: false,
  prepare: () => () => Math.random() * 100,
};
