/** @module Interface tether:reconnect/connection@0.1.0 **/
export type Instant = import('./tether-reconnect-types.js').Instant;
export type Failure = import('./tether-reconnect-types.js').Failure;
export type ConfigError = import('./tether-reconnect-types.js').ConfigError;
export type Credential = import('./tether-reconnect-types.js').Credential;
export type ProvisioningResult = import('./tether-reconnect-types.js').ProvisioningResult;
export type InputError = import('./tether-reconnect-types.js').InputError;
export type PublishError = import('./tether-reconnect-types.js').PublishError;
export type StatusChange = import('./tether-reconnect-types.js').StatusChange;
export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };

export class Connection {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  static create(config: string): Connection;
  start(): void;
  onOpened(link: bigint): void;
  onFailed(link: bigint, failure: Failure): void;
  onClosed(link: bigint, failure: Failure): void;
  onAcked(message: bigint): void;
  onProvisioned(answer: ProvisioningResult): void;
  onCredential(answer: Result<Credential, Failure>): void;
  onWake(): void;
  publish(topic: string, payload: Uint8Array): bigint;
  stop(): void;
  currentStatus(): StatusChange;
  nextWake(): Instant | undefined;
  pendingMessages(): number;
}
