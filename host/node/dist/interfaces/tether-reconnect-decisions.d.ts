/** @module Interface tether:reconnect/decisions@0.1.0 **/
export function classify(failure: Failure): Classification;
export function tableVersion(): number;
export function validateConfig(config: string): void;
export type Failure = import('./tether-reconnect-types.js').Failure;
export type Classification = import('./tether-reconnect-types.js').Classification;
export type Decision = import('./tether-reconnect-types.js').Decision;
export type Millis = import('./tether-reconnect-types.js').Millis;
export type ConfigError = import('./tether-reconnect-types.js').ConfigError;

export class RetrySchedule {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  static create(policy: string, seed: bigint): RetrySchedule;
  next(failure: Failure | undefined, elapsedMs: Millis | undefined): Decision;
  attempts(): number;
  connected(): void;
  dropped(heldMs: Millis): void;
  reset(): void;
}
