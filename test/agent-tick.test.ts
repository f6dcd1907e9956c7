// The tick's deadline: from the boundary the tick was due at, so a late timer keeps the
// report's slack before the next tick; never so close to a late start that healthy instances
// have no time to answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tickDeadline } from '../agent/agent.js';

test('tick deadline: 80 % of the interval (at most 1 s kept for the report), from the boundary it was due at', () => {
  assert.equal(tickDeadline(10_000, 1000), 10_800);
  assert.equal(tickDeadline(10_000, 10_000), 19_000);
  assert.equal(tickDeadline(10_000, 50), 10_050, 'never under 50 ms');
  // The timer fired 150 ms late: the deadline stays where the boundary put it.
  assert.equal(tickDeadline(10_150, 1000, 10_000), 10_800);
  assert.equal(tickDeadline(12_000, 10_000, 10_000), 19_000);
  // Very late: half an interval from the actual start at least.
  assert.equal(tickDeadline(10_700, 1000, 10_000), 11_200);
  assert.equal(tickDeadline(16_000, 10_000, 10_000), 21_000);
  // A boundary in the future (the first tick, or a clock step) counts from the start.
  assert.equal(tickDeadline(10_000, 1000, 10_400), 10_800);
});
