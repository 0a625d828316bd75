// Type declarations for tether for Node (index.js), written by hand from the WIT
// contract (wit/types.wit). Every u64 of the contract is a bigint; inputs also take
// safe-integer numbers.

import { EventEmitter } from 'node:events';

/** A u64 as the inputs take it. */
export type U64 = bigint | number;
/** A monotonic clock reading, in nanoseconds. */
export type Instant = bigint;
/** A duration in milliseconds. */
export type Millis = bigint;

export type Status = 'connected' | 'disconnected-retrying' | 'disconnected' | 'disabled';
export type Reason =
  | 'connection-ok' | 'credential-renewal' | 'expired-credential' | 'bad-credential'
  | 'device-disabled' | 'device-not-found' | 'retry-expired' | 'no-network'
  | 'communication-error' | 'no-ping-response' | 'quota-exceeded' | 'throttled'
  | 'server-busy' | 'server-moved' | 'provisioning' | 'protocol-error' | 'bad-endpoint'
  | 'session-taken-over' | 'client-close';
export type Level = 'network' | 'protocol' | 'application';
export type Verdict = 'retry' | 'retry-throttled' | 'renew-credential' | 'reprovision' | 'fatal';
export type NetworkError = 'dns' | 'refused' | 'reset' | 'unreachable' | 'timeout' | 'tls' | 'closed';
export type ApplicationError =
  | 'unauthorized' | 'credential-expired' | 'forbidden' | 'device-not-found'
  | 'device-disabled' | 'quota-exceeded' | 'throttled' | 'bad-endpoint';
export type Curve = 'normal' | 'throttled' | 'server-hint' | 'plugin';
export type GiveUpReason = 'no-retry' | 'max-attempts' | 'retry-timeout' | 'unrecoverable' | 'plugin';
export type PluginFaultReason =
  | 'trap' | 'out-of-fuel' | 'deadline' | 'memory-limit' | 'unavailable' | 'invalid-answer';
export type MessageFailure =
  | 'operation-timeout' | 'no-retry' | 'queue-full' | 'unrecoverable' | 'retry-expired' | 'client-close'
  | 'not-authorized' | 'topic-invalid' | 'payload-invalid' | 'quota-exceeded' | 'refused';
/** Why an input was not taken (returned, not thrown: nothing changed). */
export type InputError = 'stale-link' | 'unexpected' | 'unknown-message' | 'stopped';
/** Why `publish` refused a message (thrown as PublishRefused). */
export type PublishError = 'queue-full' | 'payload-too-large' | 'empty-topic' | 'stopped';

export type ProtocolError =
  | { tag: 'mqtt-connack'; val: number }
  | { tag: 'mqtt-reason'; val: number }
  | { tag: 'amqp'; val: string }
  | { tag: 'http'; val: { status: number; hubCode?: number } }
  | { tag: 'keep-alive-lost' }
  | { tag: 'session-expired' }
  | { tag: 'link-detached' };

export type FailureKind =
  | { tag: 'network'; val: NetworkError }
  | { tag: 'protocol'; val: ProtocolError }
  | { tag: 'application'; val: ApplicationError };

/** One failure as the host saw it, with any hints the server gave. */
export interface Failure {
  kind: FailureKind;
  /** The server's retry-after, in milliseconds. */
  retryAfterMs?: U64;
  /** Another server to use (MQTT 5 server reference). */
  serverReference?: string;
}

/** Server hints, the last argument of every Failure constructor. */
export interface Hints {
  retryAfterMs?: U64;
  serverReference?: string;
}

/** Failure constructors. */
export const Failure: {
  network(error: NetworkError, hints?: Hints): Failure;
  /** An MQTT 3.1.1 CONNACK return code (1 to 5). */
  mqttConnack(code: number, hints?: Hints): Failure;
  /** An MQTT 5 reason code (0x80 to 0xA2). */
  mqttReason(code: number, hints?: Hints): Failure;
  amqp(condition: string, hints?: Hints): Failure;
  http(status: number, hints?: Hints & { hubCode?: number }): Failure;
  keepAliveLost(hints?: Hints): Failure;
  sessionExpired(hints?: Hints): Failure;
  linkDetached(hints?: Hints): Failure;
  application(error: ApplicationError, hints?: Hints): Failure;
};

export interface Classification {
  level: Level;
  verdict: Verdict;
  reason: Reason;
  /** The table row that matched, for example `mqtt5/0x87`. */
  rule: string;
}

export interface StatusChange {
  at: Instant;
  status: Status;
  reason: Reason;
}

export interface ConnectPlan { link: bigint; hub: string; attempt: number }
export interface BackoffPlan { delayMs: Millis; attempt: number; curve: Curve; thenProvision: boolean }

export type Action =
  | { tag: 'connect'; val: ConnectPlan }
  | { tag: 'backoff'; val: BackoffPlan }
  | { tag: 'renew-credential'; val: boolean }
  | { tag: 'provision' }
  | { tag: 'poll-provisioning'; val: Millis }
  | { tag: 'give-up'; val: GiveUpReason };

export interface DecisionEvent {
  at: Instant;
  /** The classified failure behind it; undefined for routine steps. */
  cause?: Classification;
  action: Action;
}

export type Outcome = { tag: 'delivered' } | { tag: 'failed'; val: MessageFailure };

export type Decision = { tag: 'retry-after'; val: Millis } | { tag: 'give-up'; val: GiveUpReason };
/** A custom policy's plugin did not decide; the fallback did (`used`). */
export interface PluginFault {
  at: Instant;
  plugin: string;
  reason: PluginFaultReason;
  detail: string;
  used: Decision;
  consecutive: number;
  quarantined: boolean;
}

export interface Credential { secret: string; lifetimeMs?: U64 }

export type ProvisioningAnswer =
  | { assigned: { hub: string; deviceId: string; credential?: Credential } }
  | { pending: { operationId: string; retryAfterMs?: U64 } }
  | { failed: Failure };

export type CredentialAnswer = { ok: Credential } | { error: Failure };

/** The link the connection opens, sends on and closes. Each call returns at once. */
export interface Transport {
  open(link: bigint, hub: string, deviceId: string | undefined, credential: string | undefined): void;
  send(link: bigint, message: bigint, topic: string, payload: Uint8Array): void;
  close(link: bigint): void;
  /** Subscribe at QoS 1 on an open link; needed for `Connection.subscribe`. */
  subscribe?(link: bigint, filters: string[]): void;
}

/** The provisioning service client; answer with `Connection.provisioned`. */
export interface Provisioning {
  register(): void;
  poll(operationId: string): void;
}

/** Where fresh credentials come from; answer with `Connection.credential`. */
export interface Credentials {
  renew(): void;
}

/**
 * A monotonic clock in nanoseconds. `wallNs`, when given, is the time of day in
 * nanoseconds since the Unix epoch, read only to set the expiry of a token the
 * component mints from a key (the system's time of day otherwise).
 */
export interface Clock {
  nowNs(): bigint;
  wallNs?(): bigint;
}

/** Where a VirtualClock's time of day starts, in seconds since the epoch. */
export const VIRTUAL_EPOCH_S: bigint;

/** The real clock (`process.hrtime.bigint()`). */
export const monotonicClock: Clock;

/** A clock that moves only when told to. */
export class VirtualClock implements Clock {
  constructor(startNs?: U64);
  nowNs(): bigint;
  wallNs(): bigint;
  setMs(ms: U64): void;
  advanceMs(ms: U64): void;
}

export class TetherError extends Error {}
/** The transpiled component is missing: run `npm run build`. */
export class ComponentMissing extends TetherError {}
/** An invalid configuration or policy; `field` names the field, `detail` says what is wrong. */
export class ConfigError extends TetherError {
  readonly field: string;
  readonly detail: string;
}
/** `publish` did not accept the message (it gets no outcome). */
export class PublishRefused extends TetherError {
  readonly reason: PublishError;
}

/** Why `subscribe` refused a filter. */
export type SubscribeError = 'empty-filter' | 'too-many' | 'stopped';
/** `subscribe` did not keep the filter. */
export class SubscribeRefused extends TetherError {
  readonly reason: SubscribeError;
}

/** Where build.mjs leaves the transpiled component. */
export const DIST: string;

/** The transpiled component: one instance per Connection, one shared by the stateless decisions. */
export class Runtime {
  /** Load a directory made by build.mjs (default: ./dist). */
  static load(dir?: string): Promise<Runtime>;
  /** The runtime of ./dist, loaded when the module was imported; throws ComponentMissing without one. */
  static default(): Runtime;
  readonly dir: string;
}

export interface RuntimeOption {
  runtime?: Runtime;
}

/** A configuration or policy document, as an object or its JSON text. */
export type Document = string | Record<string, unknown>;

export function classify(failure: Failure, options?: RuntimeOption): Classification;
export function tableVersion(options?: RuntimeOption): number;
/** Throws ConfigError naming the field. */
export function validateConfig(config: Document, options?: RuntimeOption): void;

/** A retry policy with its state, for apps that keep their own loop. */
export class RetrySchedule {
  /** Throws ConfigError naming the field. */
  constructor(policy: Document, seed: U64, options?: RuntimeOption);
  next(failure?: Failure, elapsedMs?: U64): Decision;
  readonly attempts: number;
  connected(): void;
  dropped(heldMs: U64): void;
  reset(): void;
  close(): void;
}

export interface ConnectionOptions extends RuntimeOption {
  transport: Transport;
  provisioning?: Provisioning;
  credentials?: Credentials;
  /** Default: the real clock. */
  clock?: Clock;
  /** Entropy for the default seed (read only when the config has no `seed`). */
  entropy?: () => U64;
  /** Set a timer for every wake-at and call wake() (default: true with the real clock). */
  timers?: boolean;
}

export interface ConnectionEvents {
  status: [change: StatusChange];
  decision: [event: DecisionEvent];
  outcome: [message: bigint, outcome: Outcome];
  'wake-at': [deadline: Instant];
  'plugin-fault': [fault: PluginFault];
}

/**
 * One device link to its hub, as the tether component runs it. Listeners and the
 * transport are called after the component call that caused them has returned.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  /** Throws ConfigError naming the field. */
  constructor(config: Document, options: ConnectionOptions);
  readonly transport: Transport;
  readonly clock: Clock;
  readonly timers: boolean;

  start(): InputError | undefined;
  opened(link: U64): InputError | undefined;
  failed(link: U64, failure: Failure): InputError | undefined;
  closed(link: U64, failure: Failure): InputError | undefined;
  acked(message: U64): InputError | undefined;
  /** The hub refused `message` (an MQTT 5 PUBACK reason from 0x80). */
  refused(message: U64, failure: Failure): InputError | undefined;
  provisioned(answer: ProvisioningAnswer): InputError | undefined;
  credential(answer: CredentialAnswer): InputError | undefined;
  /** Early or extra calls do nothing. */
  wake(): void;
  /** Keep `filter` subscribed on every link; throws SubscribeRefused when not kept. */
  subscribe(filter: string): void;
  /** The filters kept, in the order first subscribed. */
  subscriptions(): string[];
  /** Returns the message id; throws PublishRefused when not accepted. */
  publish(topic: string, payload: string | Uint8Array): bigint;
  stop(): void;
  /** Resolves with the outcome of an accepted message. */
  waitForOutcome(id: U64): Promise<Outcome>;
  nextWake(): Instant | undefined;
  status(): StatusChange;
  readonly pendingMessages: number;
  /** Release the component's connection (after stop()). */
  close(): void;
}

export function u64(value: U64, what?: string): bigint;
/** `net:refused`, `mqtt5:0x87`, `http:403:403002`, ... */
export function formatFailure(failure: Failure): string;
/** `backoff 1000 1 normal reconnect`, ... (the conformance rendering). */
export function formatAction(action: Action): string;
/** `<action> cause=<rule or ->`. */
export function formatDecision(event: DecisionEvent): string;
/** `delivered` or `failed <reason>`. */
export function formatOutcome(outcome: Outcome): string;
/** `<level> <verdict> <reason> <rule>`. */
export function formatClassification(c: Classification): string;

// ---- identity ----

/** What a connection string says about a device, without its secret. */
export interface HubIdentity {
  hostName: string;
  deviceId: string;
  moduleId?: string;
  gatewayHostName?: string;
  keyName?: string;
  auth: 'shared-access-key' | 'shared-access-signature' | 'x509';
}
/** What the application may choose about its IoT Hub MQTT session. */
export interface MqttOptions { apiVersion?: string; userAgent?: string; modelId?: string; keepAliveS?: number; }
/** The MQTT CONNECT fields and topics IoT Hub expects of one identity. */
export interface MqttSettings {
  host: string; port: number; clientId: string; userName: string; telemetryTopic: string;
  cloudToDeviceFilter?: string; keepAliveS: number; cleanSession: boolean;
}
interface RuntimeOption { runtime?: Runtime }
export function parseConnectionString(text: string, opts?: RuntimeOption): HubIdentity;
export function connectionStringToken(text: string, expiry: bigint | number, opts?: RuntimeOption): string;
export function sasToken(resourceUri: string, key: string, keyName: string | undefined, expiry: bigint | number, opts?: RuntimeOption): string;
export function hubResourceUri(hostName: string, deviceId: string, moduleId?: string, opts?: RuntimeOption): string;
export function dpsToken(idScope: string, registrationId: string, key: string, expiry: bigint | number, opts?: RuntimeOption): string;
export function deriveDeviceKey(groupKey: string, registrationId: string, opts?: RuntimeOption): string;
export function hubMqttSettings(identity: HubIdentity, options?: MqttOptions, opts?: RuntimeOption): MqttSettings;
export function telemetryTopic(deviceId: string, moduleId?: string, properties?: [string, string][], opts?: RuntimeOption): string;

// ---- the mqtt.js transport (transport.js) ----

/** Node's socket error codes and the network error each becomes. */
export const SOCKET_ERRORS: Readonly<Record<string, NetworkError>>;
/** Whether a socket error is a TLS failure. */
export function isTlsError(err: unknown): boolean;
/** The contract's failure for an error mqtt.js emitted (the README's table). */
export function failureOf(err: unknown, context?: { version?: 4 | 5; serverReference?: string }): Failure;
/** The failure of a server's MQTT 5 DISCONNECT packet. */
export function disconnectFailure(packet: { reasonCode?: number; properties?: { serverReference?: string } }): Failure;
/** `host:port`, `[v6]:port` or a bare host (given `defaultPort`); undefined when no address. */
export function splitAddress(address: string, defaultPort: number): { host: string; port: number } | undefined;

/** The CONNECT fields of one link. */
export interface MqttSession {
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS?: number;
  clean?: boolean;
}
export type SessionFor = (host: string, deviceId: string | undefined, credential: string | undefined) => MqttSession;
/** Client id and user name the device id unless given; the credential as the password. */
export function plainSession(options?: { clientId?: string; username?: string }): SessionFor;

/** Node's TLS options for the link (`ca`, `cert`, `key`, `servername`, ...). */
export type TlsOptions = import('node:tls').ConnectionOptions;

export interface MqttTransportOptions {
  /** 4 (MQTT 3.1.1, the default) or 5. */
  version?: 4 | 5;
  /** Default 30. */
  keepaliveS?: number;
  /** TCP, TLS and CONNACK together; default 10000. */
  connectTimeoutMs?: number;
  /** TLS (absent: plain TCP). `{}` trusts the system's roots. */
  tls?: TlsOptions;
  /** The port of a hub given without one (default 8883 with TLS, 1883 without). */
  port?: number;
  /** Default true. */
  clean?: boolean;
  session?: SessionFor;
  /** mqtt.connect, replaceable in tests. */
  connect?: (options: Record<string, unknown>) => unknown;
}

/** tether's transport on mqtt.js 5: one client per link, its own reconnecting off. */
export class MqttTransport implements Transport {
  constructor(options?: MqttTransportOptions);
  /** The connection this transport reports to (before `start()`). */
  attach(conn: Connection): void;
  /** Links open or opening. */
  readonly links: number;
  open(link: bigint, hub: string, deviceId: string | undefined, credential: string | undefined): void;
  send(link: bigint, message: bigint, topic: string, payload: Uint8Array): void;
  subscribe(link: bigint, filters: string[]): void;
  close(link: bigint): void;
}

// ---- the Device (device.js) ----

/** `DeviceClientType=tether%2F<version>`, what IoT Hub is told the client is. */
export const USER_AGENT: string;

export interface DeviceMqttOptions {
  version?: 4 | 5;
  keepaliveS?: number;
  connectTimeoutMs?: number;
  tls?: TlsOptions;
  port?: number;
  clean?: boolean;
  clientId?: string;
  username?: string;
}

export interface DeviceOptions extends RuntimeOption {
  /** `host:port` or a bare host (then `mqtt.port`, else 8883 with TLS, 1883). */
  hub?: string;
  deviceId?: string;
  /** The password (or token) to start with. */
  credential?: string;
  /** Where a fresh credential comes from when the component asks; makes the credential renewable. */
  renew?: () => string | { secret: string; lifetimeMs?: U64 } | Promise<string | { secret: string; lifetimeMs?: U64 }>;
  /** More of the component's configuration (`seed`, `credential`, ...). */
  connection?: Record<string, unknown>;
  policy?: Record<string, unknown>;
  queue?: Record<string, unknown>;
  mqtt?: DeviceMqttOptions;
  /** The default topic of `publish`. */
  topic?: string;
  /** Aborting it stops the device. */
  signal?: AbortSignal;
}

export interface PublishOptions {
  topic?: string;
  /** Aborting it rejects the promise with its reason; the message keeps its place. */
  signal?: AbortSignal;
}

/** Where and how a device registers with DPS (give exactly one of `key` and `groupKey`). */
export interface DpsOptions {
  idScope: string;
  registrationId: string;
  /** The DPS endpoint, `https://host[:port]`. */
  endpoint: string;
  /** The device's own symmetric key (base64). */
  key?: string;
  /** The enrollment group's key (base64); the component derives the device's. */
  groupKey?: string;
  /** PEM certificates trusted for the DPS endpoint (Node's default roots when absent). */
  ca?: string;
  /** Per request: TCP, TLS and the answer (default 10000). */
  timeoutMs?: number;
}

export interface DeviceEvents {
  status: [change: StatusChange];
  connected: [change: StatusChange];
  disconnected: [change: StatusChange];
  decision: [event: DecisionEvent];
  outcome: [message: bigint, outcome: Outcome];
  error: [error: TetherError];
}

/** A device on MQTT with tether deciding every reconnect. */
export class Device extends EventEmitter<DeviceEvents> {
  /** Throws ConfigError naming the option or field. */
  constructor(options: DeviceOptions);
  /** An IoT Hub device: TLS on 8883, names and topics from the component, SAS tokens minted by it. */
  static fromConnectionString(
    connectionString: string,
    options?: Omit<DeviceOptions, 'hub' | 'deviceId' | 'credential'>,
  ): Device;
  /**
   * An IoT Hub device provisioned by DPS with a symmetric key (its own or its group
   * enrollment's, from which the component derives the device's); SAS tokens for
   * the DPS endpoint and the assigned hub minted by the component.
   */
  static fromDps(
    dps: DpsOptions,
    options?: Omit<DeviceOptions, 'hub' | 'deviceId' | 'credential'>,
  ): Device;
  /** Begin connecting; later calls do nothing. */
  start(): this;
  /** Resolves with the outcome; rejects with PublishRefused, TypeError or the signal's reason. */
  publish(payload: string | Uint8Array | ArrayBuffer, options?: PublishOptions): Promise<Outcome>;
  readonly status: StatusChange;
  readonly connected: boolean;
  readonly pendingMessages: number;
  /** Close the link; resolves when every publish has its outcome. */
  stop(): Promise<void>;
  /** Stop and release the component; the device cannot be used again. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The component's `provisioning` on DPS's REST API over HTTPS (what `Device.fromDps` uses). */
export class DpsClient {
  constructor(options: Omit<DpsOptions, 'groupKey'> & { key: string; runtime?: Runtime });
  /** Receives each answer; give it to a Connection's `provisioned`. */
  answer: (answer: ProvisioningAnswer) => void;
  register(): void;
  poll(operationId: string): void;
}
/** What one DPS HTTP answer (status, parsed body, Retry-After in ms) is for the component. */
export function dpsAnswer(status: number, body: unknown, retryAfterMs?: number): ProvisioningAnswer;
