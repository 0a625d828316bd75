// tether for Node: the tether reconnection component behind an EventEmitter (the
// Connection; `index.js` re-exports it with the mqtt.js transport and the Device).
//
// The logic (classifying failures, retry policies, the reconnection flow) lives in one
// WebAssembly component shared with the Rust, C and Python hosts. `build.mjs`
// transpiles it with jco into ./dist; this module loads that and decides nothing: it
// hands every failure and event to the component and does what it says.
//
// The component's imports are never delivered while the component runs. Each import
// call (transport.open, events.status-changed, ...) is queued; when the component
// call has returned, the queue is drained in order into the transport and the
// listeners. A listener or transport method may call an input of the same connection
// (an open that fails at once calls `conn.failed(...)`): that input runs the
// component immediately, its own calls join the end of the queue, and the drain
// carries on in order.
//
// Every u64 of the contract (links, message ids, instants, milliseconds) is a BigInt;
// inputs also take safe-integer numbers.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Where `npm run build` (build.mjs) leaves the transpiled component. */
export const DIST = join(here, 'dist');
const NS_PER_MS = 1_000_000n;
const dispose = Symbol.dispose ?? Symbol.for('dispose');

// ---- errors -----------------------------------------------------------------------

/** Base class of the errors this package throws. */
export class TetherError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The transpiled component is missing: run `npm run build`. */
export class ComponentMissing extends TetherError {}

/** An invalid configuration or policy document; `field` names the field. */
export class ConfigError extends TetherError {
  constructor(field, message) {
    super(`${field}: ${message}`);
    /** The field's path, for example `policy.initial-ms`. */
    this.field = field;
    /** What is wrong with it. */
    this.detail = message;
  }
}

/** `publish` did not accept the message (it gets no outcome); `reason` says why. */
export class PublishRefused extends TetherError {
  constructor(reason) {
    super(`publish refused: ${reason}`);
    /** `queue-full`, `payload-too-large`, `empty-topic` or `stopped`. */
    this.reason = reason;
  }
}

/** `subscribe` did not keep the filter; `reason` says why. */
export class SubscribeRefused extends TetherError {
  constructor(reason) {
    super(`subscribe refused: ${reason}`);
    /** `empty-filter`, `too-many` or `stopped`. */
    this.reason = reason;
  }
}

/** The payload of a result error thrown by the transpiled component, or rethrow. */
function errPayload(err) {
  if (err && typeof err === 'object' && 'payload' in err) return err.payload;
  throw err;
}

// ---- values -----------------------------------------------------------------------

/** A u64 as a BigInt (from a BigInt or a safe-integer number). */
export function u64(value, what = 'value') {
  if (typeof value === 'bigint') return value;
  if (Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new TypeError(`${what} must be a non-negative integer (BigInt or safe number), got ${value}`);
}

const optU64 = (v, what) => (v === undefined || v === null ? undefined : u64(v, what));

function hints(h = {}) {
  return {
    retryAfterMs: optU64(h.retryAfterMs, 'retryAfterMs'),
    serverReference: h.serverReference ?? undefined,
  };
}

const NETWORK_ERRORS = ['dns', 'refused', 'reset', 'unreachable', 'timeout', 'tls', 'closed'];
const APPLICATION_ERRORS = [
  'unauthorized', 'credential-expired', 'forbidden', 'device-not-found', 'device-disabled',
  'quota-exceeded', 'throttled', 'bad-endpoint',
];

function oneOf(list, value, what) {
  if (!list.includes(value)) throw new TypeError(`unknown ${what} ${JSON.stringify(value)}; expected one of ${list.join(', ')}`);
  return value;
}

function u8(code) {
  if (!Number.isInteger(code) || code < 0 || code > 255) throw new TypeError(`code ${code} is not a u8`);
  return code;
}

/**
 * Failure constructors. A failure is the contract's record
 * `{ kind, retryAfterMs?, serverReference? }`; every constructor takes the server
 * hints as a last `{ retryAfterMs, serverReference }` argument.
 */
export const Failure = Object.freeze({
  /** `dns`, `refused`, `reset`, `unreachable`, `timeout`, `tls` or `closed`. */
  network: (error, h) => ({ kind: { tag: 'network', val: oneOf(NETWORK_ERRORS, error, 'network error') }, ...hints(h) }),
  /** An MQTT 3.1.1 CONNACK return code (1 to 5). */
  mqttConnack: (code, h) => ({ kind: { tag: 'protocol', val: { tag: 'mqtt-connack', val: u8(code) } }, ...hints(h) }),
  /** An MQTT 5 reason code from a CONNACK or a DISCONNECT (0x80 to 0xA2). */
  mqttReason: (code, h) => ({ kind: { tag: 'protocol', val: { tag: 'mqtt-reason', val: u8(code) } }, ...hints(h) }),
  /** An AMQP error condition, for example `amqp:unauthorized-access`. */
  amqp: (condition, h) => ({ kind: { tag: 'protocol', val: { tag: 'amqp', val: String(condition) } }, ...hints(h) }),
  /** An HTTP status; `{ hubCode }` is the IoT-hub six-digit error code. */
  http: (status, h = {}) => ({
    kind: { tag: 'protocol', val: { tag: 'http', val: { status, hubCode: h.hubCode ?? undefined } } },
    ...hints(h),
  }),
  /** No answer to a keep-alive ping: the link is half open. */
  keepAliveLost: (h) => ({ kind: { tag: 'protocol', val: { tag: 'keep-alive-lost' } }, ...hints(h) }),
  /** The server ended the session. */
  sessionExpired: (h) => ({ kind: { tag: 'protocol', val: { tag: 'session-expired' } }, ...hints(h) }),
  /** The server detached a link. */
  linkDetached: (h) => ({ kind: { tag: 'protocol', val: { tag: 'link-detached' } }, ...hints(h) }),
  /** A failure in the service's own terms: `unauthorized`, `quota-exceeded`, ... */
  application: (error, h) => ({ kind: { tag: 'application', val: oneOf(APPLICATION_ERRORS, error, 'application error') }, ...hints(h) }),
});

/** A failure as the word the `tether` command reads: `net:refused`, `mqtt5:0x87`, `http:403:403002`. */
export function formatFailure(failure) {
  const { tag, val } = failure.kind;
  if (tag === 'network') return `net:${val}`;
  if (tag === 'application') return `app:${val}`;
  switch (val.tag) {
    case 'mqtt-connack': return `mqtt311:${val.val}`;
    case 'mqtt-reason': return `mqtt5:0x${val.val.toString(16).toUpperCase().padStart(2, '0')}`;
    case 'amqp': return `amqp:${val.val}`;
    case 'http': return `http:${val.val.status}${val.val.hubCode === undefined ? '' : `:${val.val.hubCode}`}`;
    default: return val.tag;
  }
}

/** The canonical one-line rendering of an action (as the conformance vectors spell it). */
export function formatAction(action) {
  const { tag, val } = action;
  switch (tag) {
    case 'connect': return `connect ${val.link} ${val.hub} ${val.attempt}`;
    case 'backoff':
      return `backoff ${val.delayMs} ${val.attempt} ${val.curve} ${val.thenProvision ? 'provision' : 'reconnect'}`;
    case 'renew-credential': return `renew-credential ${val ? 'routine' : 'after-failure'}`;
    case 'provision': return 'provision';
    case 'poll-provisioning': return `poll-provisioning ${val}`;
    case 'give-up': return `give-up ${val}`;
    default: throw new TetherError(`unknown action ${tag}`);
  }
}

/** `<action> cause=<rule or ->`, the rendering of a decision event. */
export function formatDecision(event) {
  return `${formatAction(event.action)} cause=${event.cause ? event.cause.rule : '-'}`;
}

/** `delivered` or `failed <reason>`. */
export function formatOutcome(outcome) {
  return outcome.tag === 'delivered' ? 'delivered' : `failed ${outcome.val}`;
}

/** `<level> <verdict> <reason> <rule>`. */
export function formatClassification(c) {
  return `${c.level} ${c.verdict} ${c.reason} ${c.rule}`;
}

const configText = (config) => (typeof config === 'string' ? config : JSON.stringify(config));

function lowerCredential(c) {
  return { secret: String(c.secret), lifetimeMs: optU64(c.lifetimeMs, 'lifetimeMs') };
}

function lowerFailure(f) {
  if (!f || typeof f !== 'object' || !f.kind) throw new TypeError('expected a failure (see Failure.*)');
  return { kind: f.kind, retryAfterMs: optU64(f.retryAfterMs, 'retryAfterMs'), serverReference: f.serverReference ?? undefined };
}

// ---- the runtime ------------------------------------------------------------------

/** The system's time of day, in nanoseconds since the Unix epoch. */
const systemWallNs = () => BigInt(Date.now()) * NS_PER_MS;

/**
 * The real clock: `process.hrtime.bigint()`, in nanoseconds. `wallNs()` is the time
 * of day (nanoseconds since the epoch), read by the component only to set the
 * expiry of a token it mints from a key.
 */
export const monotonicClock = Object.freeze({ nowNs: () => process.hrtime.bigint(), wallNs: systemWallNs });

/**
 * Where a VirtualClock's time of day starts (seconds since the epoch, 2023-11-14),
 * as in every host, so minted tokens are the same bytes everywhere.
 */
export const VIRTUAL_EPOCH_S = 1_700_000_000n;

/** `wasi:clocks/wall-clock.datetime` for `ns` nanoseconds since the epoch. */
const datetime = (ns) => ({ seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) });

/** A clock that moves only when told to (tests, simulations, the conformance runner). */
export class VirtualClock {
  #now;
  constructor(startNs = 0n) { this.#now = u64(startNs, 'startNs'); }
  nowNs() { return this.#now; }
  /** `VIRTUAL_EPOCH_S` plus the virtual time. */
  wallNs() { return VIRTUAL_EPOCH_S * 1_000_000_000n + this.#now; }
  setMs(ms) { this.#now = u64(ms, 'ms') * NS_PER_MS; }
  advanceMs(ms) { this.#now += u64(ms, 'ms') * NS_PER_MS; }
}

const randomU64 = () => randomBytes(8).readBigUInt64LE();

/**
 * The transpiled component. `Runtime.load(dir)` imports it (compiling its core
 * modules on first use); each Connection gets its own instance, the stateless
 * decisions share one.
 */
export class Runtime {
  #instantiate;
  #dir;
  #modules = new Map();
  #shared;
  #pool;

  constructor(instantiate, dir) {
    this.#instantiate = instantiate;
    this.#dir = dir;
  }

  /** Load a directory made by build.mjs (default: ./dist). */
  static async load(dir = DIST) {
    let mod;
    try {
      mod = await import(pathToFileURL(join(dir, 'tether.js')).href);
    } catch (err) {
      throw new ComponentMissing(
        `the transpiled tether component is missing in ${dir} (${err.code ?? err.message}): ` +
          'run `npm run build` in bindings/node after `cargo build -p tether-host`',
        { cause: err },
      );
    }
    return new Runtime(mod.instantiate, dir);
  }

  /** The runtime of ./dist, loaded when this module was imported. */
  static default() {
    if (defaultRuntime) return defaultRuntime;
    throw defaultError;
  }

  /** The directory the component was loaded from. */
  get dir() { return this.#dir; }

  /** A new instance; `imports` maps interface names (without version) to functions. */
  instantiate(imports) {
    const byName = new Proxy(imports, {
      get: (target, key) => (typeof key === 'string' ? target[key.split('@')[0]] : undefined),
    });
    return this.#instantiate((path) => {
      let m = this.#modules.get(path);
      if (!m) {
        m = new WebAssembly.Module(readFileSync(join(this.#dir, path)));
        this.#modules.set(path, m);
      }
      return m;
    }, byName);
  }

  /** The instance of the stateless decisions; its tether imports are never called. */
  get shared() {
    if (!this.#shared) {
      const inert = (name) => () => { throw new TetherError(`the stateless decisions called the import ${name}`); };
      this.#shared = this.instantiate({
        'wasi:clocks/monotonic-clock': { now: monotonicClock.nowNs },
        'wasi:clocks/wall-clock': { now: () => datetime(systemWallNs()) },
        'wasi:random/random': { getRandomU64: randomU64 },
        'tether:reconnect/types': {},
        'tether:reconnect/transport': {
          open: inert('open'), send: inert('send'), close: inert('close'), subscribe: inert('subscribe'),
        },
        'tether:reconnect/provisioning': { register: inert('register'), poll: inert('poll') },
        'tether:reconnect/credentials': { renew: inert('renew') },
        'tether:reconnect/events': {
          statusChanged: inert('status-changed'), decided: inert('decided'),
          messageOutcome: inert('message-outcome'), wakeAt: inert('wake-at'),
          pluginFault: inert('plugin-fault'),
        },
        'tether:reconnect/policy-plugins': { decide: inert('policy-plugins.decide') },
      });
    }
    return this.#shared;
  }

  /**
   * The instance this runtime's Connections share, each its own `connection`
   * resource in it: a new Connection then costs a `create`, not an instantiation
   * (about 20 ms of jco's glue). The component calls its imports only during a
   * call into it, synchronously, so every import goes to the connection whose
   * call is running (`pool.current`). An instance that traps is retired: later
   * Connections get a fresh one.
   */
  pool() {
    if (this.#pool) return this.#pool;
    const pool = { current: undefined, root: undefined };
    const at = (name) => {
      const host = pool.current;
      if (!host) throw new TetherError(`the component called the import ${name} outside a connection's call`);
      return host;
    };
    const push = (name) => (...args) => { at(name).queue.push([name, ...args]); };
    pool.root = this.instantiate({
      'wasi:clocks/monotonic-clock': { now: () => at('now').nowNs() },
      'wasi:clocks/wall-clock': { now: () => at('wall-clock').wallNow() },
      'wasi:random/random': { getRandomU64: () => at('random').entropy() },
      'tether:reconnect/types': {},
      'tether:reconnect/transport': {
        open: push('open'),
        send: (link, message, topic, payload) => { at('send').queue.push(['send', link, message, topic, Uint8Array.from(payload)]); },
        close: push('close'),
        subscribe: (link, filters) => { at('subscribe').queue.push(['subscribe', link, [...filters]]); },
      },
      'tether:reconnect/provisioning': { register: push('register'), poll: push('poll') },
      'tether:reconnect/credentials': { renew: push('renew') },
      'tether:reconnect/events': {
        statusChanged: (change) => { at('status').queue.push(['status', change]); },
        decided: (event) => { at('decision').queue.push(['decision', event]); },
        messageOutcome: (message, outcome) => { at('outcome').queue.push(['outcome', message, outcome]); },
        wakeAt: (deadline) => { at('wake-at').queue.push(['wake-at', deadline]); },
        pluginFault: (fault) => { at('plugin-fault').queue.push(['plugin-fault', fault]); },
      },
      // This host does not run plugins: the engine then uses the fallback
      // policy, reports `unavailable` and quarantines the plugin.
      'tether:reconnect/policy-plugins': { decide: pluginsUnavailable },
    });
    this.#pool = pool;
    return pool;
  }

  /** Run `fn` as `host`'s call into `pool`; a trap retires the instance. */
  within(pool, host, fn) {
    const outer = pool.current;
    pool.current = host;
    try {
      return fn();
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError && this.#pool === pool) this.#pool = undefined;
      throw err;
    } finally {
      pool.current = outer;
    }
  }
}

/** `policy-plugins.decide` for a host that runs no plugins. */
function pluginsUnavailable() {
  return { tag: 'failed', val: { reason: 'unavailable', detail: 'the Node host does not run plugins' } };
}

let defaultRuntime;
let defaultError;
try {
  defaultRuntime = await Runtime.load(DIST);
} catch (err) {
  defaultError = err;
}

// ---- stateless decisions ----------------------------------------------------------

/** The component's classification of one failure: `{ level, verdict, reason, rule }`. */
export function classify(failure, { runtime = Runtime.default() } = {}) {
  return runtime.shared.decisions.classify(lowerFailure(failure));
}

/** The version of the classification table. */
export function tableVersion({ runtime = Runtime.default() } = {}) {
  return runtime.shared.decisions.tableVersion();
}

/** Check a configuration (object or JSON text); throws ConfigError naming the field. */
export function validateConfig(config, { runtime = Runtime.default() } = {}) {
  try {
    runtime.shared.decisions.validateConfig(configText(config));
  } catch (err) {
    const e = errPayload(err);
    throw new ConfigError(e.field, e.message);
  }
}

// ---- identity ---------------------------------------------------------------------
// Connection strings, SAS tokens, DPS keys and IoT Hub MQTT settings, all computed by
// the component's `identity` interface. Errors throw ConfigError naming the field or
// connection-string key that is wrong, never its value.

function identityCall(runtime, fn) {
  try {
    return fn(runtime.shared.identity);
  } catch (err) {
    const e = errPayload(err);
    throw new ConfigError(e.field, e.message);
  }
}

/** Parse an IoT Hub connection string: `{hostName, deviceId, moduleId?, gatewayHostName?, keyName?, auth}`. */
export function parseConnectionString(text, { runtime = Runtime.default() } = {}) {
  return identityCall(runtime, (id) => id.parseConnectionString(text));
}

/** The token of a connection string valid until `expiry` (Unix seconds). */
export function connectionStringToken(text, expiry, { runtime = Runtime.default() } = {}) {
  return identityCall(runtime, (id) => id.connectionStringToken(text, u64(expiry, 'expiry')));
}

/** A SAS token for `resourceUri` signed with `key` (base64), `skn` when `keyName` is given. */
export function sasToken(resourceUri, key, keyName, expiry, { runtime = Runtime.default() } = {}) {
  return identityCall(runtime, (id) => id.sasToken(resourceUri, key, keyName ?? undefined, u64(expiry, 'expiry')));
}

/** The resource of a device or module token. */
export function hubResourceUri(hostName, deviceId, moduleId, { runtime = Runtime.default() } = {}) {
  return runtime.shared.identity.hubResourceUri(hostName, deviceId, moduleId ?? undefined);
}

/** A DPS registration token (`skn=registration`). */
export function dpsToken(idScope, registrationId, key, expiry, { runtime = Runtime.default() } = {}) {
  return identityCall(runtime, (id) => id.dpsToken(idScope, registrationId, key, u64(expiry, 'expiry')));
}

/** A group enrollment's device key for `registrationId`. */
export function deriveDeviceKey(groupKey, registrationId, { runtime = Runtime.default() } = {}) {
  return identityCall(runtime, (id) => id.deriveDeviceKey(groupKey, registrationId));
}

/** The MQTT CONNECT fields and topics IoT Hub expects of `identity` (as `parseConnectionString` gives it). */
export function hubMqttSettings(identity, options = {}, { runtime = Runtime.default() } = {}) {
  return identityCall(runtime, (id) => id.hubMqttSettings(identity, options));
}

/** The telemetry topic with a percent-encoded property bag (`[[name, value], ...]`). */
export function telemetryTopic(deviceId, moduleId, properties = [], { runtime = Runtime.default() } = {}) {
  return identityCall(runtime, (id) => id.telemetryTopic(deviceId, moduleId ?? undefined, properties));
}

/**
 * A retry policy with its state, for apps that keep their own loop. `next()` after
 * each failed attempt gives `{ tag: 'retry-after', val: ms }` or
 * `{ tag: 'give-up', val: reason }`.
 */
export class RetrySchedule {
  #s;
  constructor(policy, seed, { runtime = Runtime.default() } = {}) {
    try {
      this.#s = runtime.shared.decisions.RetrySchedule.create(configText(policy), u64(seed, 'seed'));
    } catch (err) {
      const e = errPayload(err);
      throw new ConfigError(e.field, e.message);
    }
  }
  /** The decision after one more failed attempt (`failure` selects the curve). */
  next(failure = undefined, elapsedMs = undefined) {
    return this.#s.next(failure === undefined || failure === null ? undefined : lowerFailure(failure), optU64(elapsedMs, 'elapsedMs'));
  }
  /** Failed attempts counted in this outage. */
  get attempts() { return this.#s.attempts(); }
  /** An attempt succeeded. */
  connected() { this.#s.connected(); }
  /** The link was lost after holding `heldMs`. */
  dropped(heldMs) { this.#s.dropped(u64(heldMs, 'heldMs')); }
  /** Start over. */
  reset() { this.#s.reset(); }
  /** Release the component's schedule. */
  close() { this.#s?.[dispose]?.(); this.#s = undefined; }
}

// ---- the connection ---------------------------------------------------------------

const SETTLED_KEPT = 4096;

/**
 * One device link to its hub, as the tether component runs it.
 *
 * Events: `'status'` (StatusChange), `'decision'` (DecisionEvent), `'outcome'`
 * (message id, Outcome), `'wake-at'` (deadline in ns on the connection's clock),
 * `'plugin-fault'` (PluginFault: a custom policy's plugin did not decide; this host
 * runs no plugins, so the fallback decides and the plugin is quarantined).
 * With the real clock (the default) the connection also sets a timer for every
 * `wake-at` and calls `wake()` itself; with another clock pass `timers: false` and
 * call `wake()` yourself.
 *
 * Inputs return `undefined` when taken, or the input error (`'stale-link'`,
 * `'unexpected'`, `'unknown-message'`, `'stopped'`) when not: a late report about an
 * old link is normal and changes nothing.
 */
export class Connection extends EventEmitter {
  #conn;
  #runtime;
  #pool;
  #host;
  #queue = [];
  #draining = false;
  #timers = new Set();
  #waiters = new Map();
  #settled = new Map();

  constructor(config, { transport, provisioning, credentials, clock, entropy, runtime, timers } = {}) {
    super();
    if (!transport) throw new TypeError('a Connection needs a transport ({ open, send, close })');
    this.transport = transport;
    this.provisioning = provisioning;
    this.credentials = credentials;
    this.clock = clock ?? monotonicClock;
    this.timers = timers ?? clock === undefined;
    const nextEntropy = entropy ?? randomU64;
    this.#runtime = runtime ?? Runtime.default();
    this.#pool = this.#runtime.pool();
    this.#host = {
      queue: this.#queue,
      nowNs: () => this.clock.nowNs(),
      wallNow: () => datetime(typeof this.clock.wallNs === 'function' ? u64(this.clock.wallNs(), 'wallNs') : systemWallNs()),
      entropy: () => u64(nextEntropy(), 'entropy'),
    };
    try {
      const text = configText(config);
      this.#conn = this.#within(() => this.#pool.root.connection.Connection.create(text));
    } catch (err) {
      const e = errPayload(err);
      throw new ConfigError(e.field, e.message);
    }
  }

  // ---- inputs ----

  /** Begin: provision, renew a credential or connect, as configured. */
  start() { return this.#input((c) => c.start()); }
  /** Link `link` is open. */
  opened(link) { const l = u64(link, 'link'); return this.#input((c) => c.onOpened(l)); }
  /** Opening link `link` failed. */
  failed(link, failure) { const l = u64(link, 'link'); const f = lowerFailure(failure); return this.#input((c) => c.onFailed(l, f)); }
  /** Open link `link` was lost or closed by the server. */
  closed(link, failure) { const l = u64(link, 'link'); const f = lowerFailure(failure); return this.#input((c) => c.onClosed(l, f)); }
  /** The hub acknowledged message `message`. */
  acked(message) { const m = u64(message, 'message'); return this.#input((c) => c.onAcked(m)); }
  /**
   * The hub refused message `message` (an MQTT 5 PUBACK reason from 0x80, as
   * `Failure.mqttReason(code)`): the component resends it later or ends it.
   */
  refused(message, failure) { const m = u64(message, 'message'); const f = lowerFailure(failure); return this.#input((c) => c.onRefused(m, f)); }

  /**
   * The answer to `register` / `poll`: `{ assigned: { hub, deviceId, credential? } }`,
   * `{ pending: { operationId, retryAfterMs? } }` or `{ failed: failure }`.
   */
  provisioned(answer) {
    let lowered;
    if (answer?.assigned) {
      const a = answer.assigned;
      lowered = { tag: 'assigned', val: { hub: a.hub, deviceId: a.deviceId, credential: a.credential ? lowerCredential(a.credential) : undefined } };
    } else if (answer?.pending) {
      const p = answer.pending;
      lowered = { tag: 'pending', val: { operationId: p.operationId, retryAfterMs: optU64(p.retryAfterMs, 'retryAfterMs') } };
    } else if (answer?.failed) {
      lowered = { tag: 'failed', val: lowerFailure(answer.failed) };
    } else {
      throw new TypeError('a provisioning answer is { assigned }, { pending } or { failed }');
    }
    return this.#input((c) => c.onProvisioned(lowered));
  }

  /** The answer to `renew`: `{ ok: { secret, lifetimeMs? } }` or `{ error: failure }`. */
  credential(answer) {
    let lowered;
    if (answer?.ok) lowered = { tag: 'ok', val: lowerCredential(answer.ok) };
    else if (answer?.error) lowered = { tag: 'err', val: lowerFailure(answer.error) };
    else throw new TypeError('a credential answer is { ok: credential } or { error: failure }');
    return this.#input((c) => c.onCredential(lowered));
  }

  /** A deadline asked for may have passed. Early or extra calls do nothing. */
  wake() { this.#call((c) => c.onWake()); }

  /**
   * Queue a message; returns its id (a BigInt). It ends as exactly one 'outcome'.
   * Throws PublishRefused when the message is not accepted.
   */
  publish(topic, payload) {
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : Uint8Array.from(payload);
    return this.#call((c) => {
      try {
        return c.publish(topic, bytes);
      } catch (err) {
        throw new PublishRefused(errPayload(err));
      }
    });
  }

  /**
   * Keep `filter` subscribed (QoS 1) on every link: at once when a link is up, and
   * again on each new link. Throws SubscribeRefused when not kept, and TetherError
   * when the transport has no `subscribe(link, filters)`.
   */
  subscribe(filter) {
    if (typeof this.transport.subscribe !== 'function') {
      throw new TetherError('the transport has no subscribe(link, filters): it cannot carry subscriptions');
    }
    this.#call((c) => {
      try {
        c.subscribe(filter);
      } catch (err) {
        throw new SubscribeRefused(errPayload(err));
      }
    });
  }

  /** The filters kept, in the order first subscribed. */
  subscriptions() { return this.#call((c) => c.subscriptions()); }

  /** Close the link and stop. Queued messages fail with `client-close`. */
  stop() {
    this.#call((c) => c.stop());
    this.#clearTimers();
  }

  /** Resolves with the outcome of message `id` (`{ tag: 'delivered' }` or `{ tag: 'failed', val }`). */
  waitForOutcome(id) {
    const key = u64(id, 'id');
    const known = this.#settled.get(key);
    if (known) {
      this.#settled.delete(key);
      return Promise.resolve(known);
    }
    return new Promise((resolve) => {
      const list = this.#waiters.get(key) ?? [];
      list.push(resolve);
      this.#waiters.set(key, list);
    });
  }

  // ---- queries ----

  /** The deadline (ns, on this connection's clock) at which it wants `wake()`, if any. */
  nextWake() { return this.#call((c) => c.nextWake()); }
  /** The current status: `{ at, status, reason }`. */
  status() { return this.#call((c) => c.currentStatus()); }
  /** Messages accepted and not yet given an outcome. */
  get pendingMessages() { return this.#call((c) => c.pendingMessages()); }

  /** Release the component's connection (after `stop()`). */
  close() {
    this.#clearTimers();
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn) this.#within(() => conn[dispose]?.());
  }

  /** A call into the shared instance, its imports going to this connection. */
  #within(fn) { return this.#runtime.within(this.#pool, this.#host, fn); }

  // ---- the machinery ----

  #input(fn) {
    return this.#call((c) => {
      try {
        fn(c);
        return undefined;
      } catch (err) {
        return errPayload(err);
      }
    });
  }

  #call(fn) {
    if (!this.#conn) throw new TetherError('the connection was closed');
    const conn = this.#conn;
    try {
      return this.#within(() => fn(conn));
    } finally {
      if (!this.#draining) this.#drain();
    }
  }

  #drain() {
    this.#draining = true;
    try {
      const q = this.#queue;
      while (q.length) this.#deliver(q.shift());
    } finally {
      this.#draining = false;
    }
  }

  #deliver([kind, ...args]) {
    switch (kind) {
      case 'open': return this.transport.open(...args);
      case 'send': return this.transport.send(...args);
      case 'close': return this.transport.close(...args);
      case 'subscribe': return this.transport.subscribe(...args);
      case 'register':
      case 'poll':
        if (!this.provisioning) throw new TetherError('the configuration uses provisioning, but the Connection has no provisioning client');
        return kind === 'register' ? this.provisioning.register() : this.provisioning.poll(...args);
      case 'renew':
        if (!this.credentials) throw new TetherError('the component asked for a credential, but the Connection has no credentials source');
        return this.credentials.renew();
      case 'status': return void this.emit('status', args[0]);
      case 'decision': return void this.emit('decision', args[0]);
      case 'outcome': return this.#outcome(args[0], args[1]);
      case 'wake-at':
        if (this.timers) this.#arm(args[0]);
        return void this.emit('wake-at', args[0]);
      case 'plugin-fault': return void this.emit('plugin-fault', args[0]);
      default: throw new TetherError(`unknown import call ${kind}`);
    }
  }

  #outcome(id, outcome) {
    const waiters = this.#waiters.get(id);
    if (waiters) {
      this.#waiters.delete(id);
      for (const resolve of waiters) resolve(outcome);
    } else {
      this.#settled.set(id, outcome);
      if (this.#settled.size > SETTLED_KEPT) this.#settled.delete(this.#settled.keys().next().value);
    }
    this.emit('outcome', id, outcome);
  }

  /** A timer that calls wake() once the clock has reached `deadline`. */
  #arm(deadline) {
    const left = deadline - this.clock.nowNs();
    const ms = left <= 0n ? 0 : Number((left + NS_PER_MS - 1n) / NS_PER_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#conn) return;
      // A timer can fire a little early by the monotonic clock: an early wake does
      // nothing, so wait out the rest instead.
      if (this.clock.nowNs() < deadline) this.#arm(deadline);
      else this.wake();
    }, ms);
    this.#timers.add(timer);
  }

  #clearTimers() {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
