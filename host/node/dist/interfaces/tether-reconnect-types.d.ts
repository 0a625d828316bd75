/** @module Interface tether:reconnect/types@0.1.0 **/
export type Instant = bigint;
/**
 * # Variants
 * 
 * ## `"connected"`
 * 
 * ## `"disconnected-retrying"`
 * 
 * ## `"disconnected"`
 * 
 * ## `"disabled"`
 */
export type Status = 'connected' | 'disconnected-retrying' | 'disconnected' | 'disabled';
/**
 * # Variants
 * 
 * ## `"connection-ok"`
 * 
 * ## `"credential-renewal"`
 * 
 * ## `"expired-credential"`
 * 
 * ## `"bad-credential"`
 * 
 * ## `"device-disabled"`
 * 
 * ## `"device-not-found"`
 * 
 * ## `"retry-expired"`
 * 
 * ## `"no-network"`
 * 
 * ## `"communication-error"`
 * 
 * ## `"no-ping-response"`
 * 
 * ## `"quota-exceeded"`
 * 
 * ## `"throttled"`
 * 
 * ## `"server-busy"`
 * 
 * ## `"server-moved"`
 * 
 * ## `"provisioning"`
 * 
 * ## `"protocol-error"`
 * 
 * ## `"bad-endpoint"`
 * 
 * ## `"session-taken-over"`
 * 
 * ## `"client-close"`
 */
export type Reason = 'connection-ok' | 'credential-renewal' | 'expired-credential' | 'bad-credential' | 'device-disabled' | 'device-not-found' | 'retry-expired' | 'no-network' | 'communication-error' | 'no-ping-response' | 'quota-exceeded' | 'throttled' | 'server-busy' | 'server-moved' | 'provisioning' | 'protocol-error' | 'bad-endpoint' | 'session-taken-over' | 'client-close';
export interface StatusChange {
  at: Instant,
  status: Status,
  reason: Reason,
}
/**
 * # Variants
 * 
 * ## `"network"`
 * 
 * ## `"protocol"`
 * 
 * ## `"application"`
 */
export type Level = 'network' | 'protocol' | 'application';
/**
 * # Variants
 * 
 * ## `"retry"`
 * 
 * ## `"retry-throttled"`
 * 
 * ## `"renew-credential"`
 * 
 * ## `"reprovision"`
 * 
 * ## `"fatal"`
 */
export type Verdict = 'retry' | 'retry-throttled' | 'renew-credential' | 'reprovision' | 'fatal';
export interface Classification {
  level: Level,
  verdict: Verdict,
  reason: Reason,
  rule: string,
}
export interface ConnectPlan {
  link: bigint,
  hub: string,
  attempt: number,
}
export type Millis = bigint;
/**
 * # Variants
 * 
 * ## `"normal"`
 * 
 * ## `"throttled"`
 * 
 * ## `"server-hint"`
 */
export type Curve = 'normal' | 'throttled' | 'server-hint';
export interface BackoffPlan {
  delayMs: Millis,
  attempt: number,
  curve: Curve,
  thenProvision: boolean,
}
/**
 * # Variants
 * 
 * ## `"no-retry"`
 * 
 * ## `"max-attempts"`
 * 
 * ## `"retry-timeout"`
 * 
 * ## `"unrecoverable"`
 */
export type GiveUpReason = 'no-retry' | 'max-attempts' | 'retry-timeout' | 'unrecoverable';
export type Action = ActionConnect | ActionBackoff | ActionRenewCredential | ActionProvision | ActionPollProvisioning | ActionGiveUp;
export interface ActionConnect {
  tag: 'connect',
  val: ConnectPlan,
}
export interface ActionBackoff {
  tag: 'backoff',
  val: BackoffPlan,
}
export interface ActionRenewCredential {
  tag: 'renew-credential',
  val: boolean,
}
export interface ActionProvision {
  tag: 'provision',
}
export interface ActionPollProvisioning {
  tag: 'poll-provisioning',
  val: Millis,
}
export interface ActionGiveUp {
  tag: 'give-up',
  val: GiveUpReason,
}
export interface DecisionEvent {
  at: Instant,
  cause?: Classification,
  action: Action,
}
/**
 * # Variants
 * 
 * ## `"operation-timeout"`
 * 
 * ## `"no-retry"`
 * 
 * ## `"queue-full"`
 * 
 * ## `"unrecoverable"`
 * 
 * ## `"retry-expired"`
 * 
 * ## `"client-close"`
 */
export type MessageFailure = 'operation-timeout' | 'no-retry' | 'queue-full' | 'unrecoverable' | 'retry-expired' | 'client-close';
export type Outcome = OutcomeDelivered | OutcomeFailed;
export interface OutcomeDelivered {
  tag: 'delivered',
}
export interface OutcomeFailed {
  tag: 'failed',
  val: MessageFailure,
}
/**
 * # Variants
 * 
 * ## `"dns"`
 * 
 * ## `"refused"`
 * 
 * ## `"reset"`
 * 
 * ## `"unreachable"`
 * 
 * ## `"timeout"`
 * 
 * ## `"tls"`
 * 
 * ## `"closed"`
 */
export type NetworkError = 'dns' | 'refused' | 'reset' | 'unreachable' | 'timeout' | 'tls' | 'closed';
export interface HttpFailure {
  status: number,
  hubCode?: number,
}
export type ProtocolError = ProtocolErrorMqttConnack | ProtocolErrorMqttReason | ProtocolErrorAmqp | ProtocolErrorHttp | ProtocolErrorKeepAliveLost | ProtocolErrorSessionExpired | ProtocolErrorLinkDetached;
export interface ProtocolErrorMqttConnack {
  tag: 'mqtt-connack',
  val: number,
}
export interface ProtocolErrorMqttReason {
  tag: 'mqtt-reason',
  val: number,
}
export interface ProtocolErrorAmqp {
  tag: 'amqp',
  val: string,
}
export interface ProtocolErrorHttp {
  tag: 'http',
  val: HttpFailure,
}
export interface ProtocolErrorKeepAliveLost {
  tag: 'keep-alive-lost',
}
export interface ProtocolErrorSessionExpired {
  tag: 'session-expired',
}
export interface ProtocolErrorLinkDetached {
  tag: 'link-detached',
}
/**
 * # Variants
 * 
 * ## `"unauthorized"`
 * 
 * ## `"credential-expired"`
 * 
 * ## `"forbidden"`
 * 
 * ## `"device-not-found"`
 * 
 * ## `"device-disabled"`
 * 
 * ## `"quota-exceeded"`
 * 
 * ## `"throttled"`
 * 
 * ## `"bad-endpoint"`
 */
export type ApplicationError = 'unauthorized' | 'credential-expired' | 'forbidden' | 'device-not-found' | 'device-disabled' | 'quota-exceeded' | 'throttled' | 'bad-endpoint';
export type FailureKind = FailureKindNetwork | FailureKindProtocol | FailureKindApplication;
export interface FailureKindNetwork {
  tag: 'network',
  val: NetworkError,
}
export interface FailureKindProtocol {
  tag: 'protocol',
  val: ProtocolError,
}
export interface FailureKindApplication {
  tag: 'application',
  val: ApplicationError,
}
export interface Failure {
  kind: FailureKind,
  retryAfterMs?: Millis,
  serverReference?: string,
}
export type Decision = DecisionRetryAfter | DecisionGiveUp;
export interface DecisionRetryAfter {
  tag: 'retry-after',
  val: Millis,
}
export interface DecisionGiveUp {
  tag: 'give-up',
  val: GiveUpReason,
}
export interface ConfigError {
  field: string,
  message: string,
}
export interface Credential {
  secret: string,
  lifetimeMs?: Millis,
}
export interface Assignment {
  hub: string,
  deviceId: string,
  credential?: Credential,
}
export interface Pending {
  operationId: string,
  retryAfterMs?: Millis,
}
export type ProvisioningResult = ProvisioningResultAssigned | ProvisioningResultPending | ProvisioningResultFailed;
export interface ProvisioningResultAssigned {
  tag: 'assigned',
  val: Assignment,
}
export interface ProvisioningResultPending {
  tag: 'pending',
  val: Pending,
}
export interface ProvisioningResultFailed {
  tag: 'failed',
  val: Failure,
}
/**
 * # Variants
 * 
 * ## `"stale-link"`
 * 
 * ## `"unexpected"`
 * 
 * ## `"unknown-message"`
 * 
 * ## `"stopped"`
 */
export type InputError = 'stale-link' | 'unexpected' | 'unknown-message' | 'stopped';
/**
 * # Variants
 * 
 * ## `"queue-full"`
 * 
 * ## `"payload-too-large"`
 * 
 * ## `"empty-topic"`
 * 
 * ## `"stopped"`
 */
export type PublishError = 'queue-full' | 'payload-too-large' | 'empty-topic' | 'stopped';
