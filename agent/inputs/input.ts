// The contract of one input: one file, one job. `gather` writes this tick's data into
// the accumulator; it must not throw for a partial failure (an instance down is data,
// not an error) and must finish within the tick (bounded timeouts inside).
import type { Logger } from '../../common/index.js';
import type { Accumulator } from '../accumulator.js';
import type { AgentConfig } from '../config.js';
import type { Targets } from '../targets.js';

export interface Input {
  readonly name: string;
  /** Optional one-time setup before the first tick (resolve devices, open connections). */
  start?(): Promise<void>;
  gather(acc: Accumulator): Promise<void>;
  /** Release connections and timers. */
  stop?(): Promise<void>;
}

export interface InputContext {
  config: AgentConfig;
  logger: Logger;
  /** The Redis instances and proxies to sample (configured + discovered); default: the config's. */
  targets?: Targets;
}

/** Builds the input for this agent, or returns undefined when it does not apply (e.g. role not configured). */
export type InputFactory = (ctx: InputContext) => Input | undefined;
