// A device on MQTT with tether deciding every reconnect: the Connection, the
// mqtt.js transport and the loop in one object.
//
// The Device owns the loop: it starts the connection, arms the component's timers,
// resolves each publish with its outcome and re-emits what the component reports.
// Identities (connection strings, SAS tokens, IoT Hub user names) come from the
// component's `identity` interface; this file only chooses which call to make.

import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import createDebug from 'debug';
import {
  Connection, ConfigError, Failure, TetherError, formatDecision, formatOutcome,
  deriveDeviceKey, hubMqttSettings, parseConnectionString, telemetryTopic,
} from './connection.js';
import { DpsClient } from './dps.js';
import { MqttTransport, plainSession } from './transport.js';

const log = createDebug('tether');
const VERSION = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version;
/** What IoT Hub is told the client is (`DeviceClientType=`). */
export const USER_AGENT = `DeviceClientType=tether%2F${VERSION}`;

const DEVICE_OPTIONS = new Set([
  'hub', 'deviceId', 'credential', 'renew', 'connection', 'policy', 'queue', 'mqtt', 'topic', 'signal', 'runtime',
]);
const DPS_OPTIONS = new Set(['idScope', 'registrationId', 'endpoint', 'key', 'groupKey', 'ca', 'timeoutMs']);
const MQTT_OPTIONS = new Set(['version', 'keepaliveS', 'connectTimeoutMs', 'tls', 'port', 'clean', 'clientId', 'username']);

function checkKeys(obj, allowed, where) {
  if (obj === undefined) return {};
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new ConfigError(where, 'expected an object');
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) throw new ConfigError(`${where}.${k}`, `unknown option; expected one of ${[...allowed].join(', ')}`);
  }
  return obj;
}

function optString(v, field) {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new ConfigError(field, `expected a non-empty string, got ${typeName(v)}`);
  return v;
}

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}` : `a ${typeof v}`;
}

function payloadBytes(payload) {
  if (typeof payload === 'string') return payload;
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  throw new TypeError(`payload must be a string, Uint8Array or ArrayBuffer, got ${typeName(payload)}`);
}

/**
 * The options of an IoT Hub device (`fromConnectionString`, `fromDps`): no `hub`,
 * `deviceId` or `credential` (`given` says where they come from instead), and none
 * of the MQTT settings the IoT Hub profile decides.
 */
function hubProfileOptions(options, given) {
  const o = checkKeys(options, DEVICE_OPTIONS, 'options');
  for (const k of ['hub', 'deviceId', 'credential']) {
    if (o[k] !== undefined) throw new ConfigError(k, given);
  }
  const m = checkKeys(o.mqtt, MQTT_OPTIONS, 'mqtt');
  for (const k of ['version', 'clientId', 'username', 'clean']) {
    if (m[k] !== undefined) throw new ConfigError(`mqtt.${k}`, 'the IoT Hub profile decides it');
  }
  return { o, m };
}

/**
 * The CONNECT fields of an IoT Hub link from the component's `hub-mqtt-settings`
 * for `identityOf(host, deviceId)`. X.509 devices send no password: the
 * certificate is in TLS.
 */
function hubSession(identityOf, keepAliveS, runtime) {
  return (host, deviceId, credential) => {
    const id = identityOf(host, deviceId);
    const s = hubMqttSettings(id, { userAgent: USER_AGENT, keepAliveS }, { runtime });
    return {
      clientId: s.clientId,
      username: s.userName,
      password: id.auth === 'x509' ? undefined : credential,
      keepaliveS: s.keepAliveS,
      clean: s.cleanSession,
    };
  };
}

/** The CONNECT fields of each link, set by `fromConnectionString` (not an option). */
const SESSION = Symbol('session');
/** The provisioning client, set by `fromDps` (not an option). */
const PROVISIONING = Symbol('provisioning');

/** An AbortSignal's reason as an error. */
const abortError = (signal) => signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

/**
 * A device: `new Device({ hub, deviceId, ... })` or `Device.fromConnectionString(...)`,
 * then `start()`, `await publish(payload)`, `await stop()`.
 *
 * Events: `'status'` (StatusChange), `'connected'` / `'disconnected'` (the
 * StatusChange, on each change into or out of `connected`), `'decision'`
 * (DecisionEvent), `'outcome'` (message id, Outcome), `'error'` (a listener threw;
 * emitted only when someone listens for it, else a process warning).
 */
export class Device extends EventEmitter {
  #conn;
  #transport;
  #topic;
  #started = false;
  #closed = false;
  #connected = false;
  #pending = new Set();

  constructor(options = {}) {
    super();
    const o = checkKeys(options, DEVICE_OPTIONS, 'options');
    const m = checkKeys(o.mqtt, MQTT_OPTIONS, 'mqtt');
    const extra = o.connection === undefined ? {} : checkKeys(o.connection, new Set(Object.keys(o.connection)), 'connection');
    const config = { ...extra };
    if (o.hub !== undefined) config.hub = optString(o.hub, 'hub');
    if (o.deviceId !== undefined) config['device-id'] = optString(o.deviceId, 'deviceId');
    if (o.credential !== undefined) config.credential = { ...(config.credential ?? {}), secret: optString(o.credential, 'credential') };
    if (o.renew !== undefined) {
      if (typeof o.renew !== 'function') throw new ConfigError('renew', `expected a function, got ${typeName(o.renew)}`);
      config.credential = { ...(config.credential ?? {}), renewable: true };
    }
    if (o.policy !== undefined) config.policy = o.policy;
    if (o.queue !== undefined) config.queue = o.queue;
    this.#topic = optString(o.topic, 'topic');
    const session = o[SESSION] ?? plainSession({ clientId: optString(m.clientId, 'mqtt.clientId'), username: optString(m.username, 'mqtt.username') });
    this.#transport = new MqttTransport({ ...m, session });
    const credentials = o.renew && { renew: () => this.#renew(o.renew) };
    const provisioning = o[PROVISIONING];
    this.#conn = new Connection(config, { transport: this.#transport, provisioning, credentials, runtime: o.runtime });
    this.#transport.attach(this.#conn);
    if (provisioning) {
      provisioning.answer = (answer) => {
        if (this.#closed) return;
        const err = this.#conn.provisioned(answer);
        if (err) log('provisioning answer not taken: %s', err);
      };
    }
    this.#conn.on('status', (s) => this.#status(s));
    this.#conn.on('decision', (d) => {
      log('decision %s', formatDecision(d));
      this.#emit('decision', d);
    });
    this.#conn.on('outcome', (id, outcome) => {
      log('message %s %s', String(id), formatOutcome(outcome));
      this.#emit('outcome', id, outcome);
    });
    if (o.signal !== undefined) {
      if (typeof o.signal?.addEventListener !== 'function') throw new TypeError('signal must be an AbortSignal');
      const onAbort = () => { log('aborted: stopping'); this.stop().catch(() => {}); };
      if (o.signal.aborted) queueMicrotask(onAbort);
      else o.signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /**
   * An IoT Hub device from its connection string: TLS on 8883 (unless
   * `mqtt.port`), MQTT 3.1.1, CleanSession 0; the client id, user name and telemetry
   * topic from the component's `hub-mqtt-settings`, each SAS token minted by the
   * component from the key (`SharedAccessKey=`); `x509=true` sends no password
   * (give `mqtt.tls.cert` and `mqtt.tls.key`). Other options as for `new Device`
   * (no `hub`, `deviceId` or `credential`: the string says them).
   */
  static fromConnectionString(connectionString, options = {}) {
    if (typeof connectionString !== 'string' || connectionString === '') {
      throw new ConfigError('connectionString', `expected a connection string, got ${connectionString === '' ? 'an empty string' : typeName(connectionString).replace(/the string .*/, 'a string')}`);
    }
    const { o, m } = hubProfileOptions(options, 'the connection string gives it; leave it out');
    const runtime = o.runtime;
    const identity = parseConnectionString(connectionString, { runtime }); // names the bad key, never its value
    const keepAliveS = m.keepaliveS ?? 60;
    const settings = hubMqttSettings(identity, { userAgent: USER_AGENT, keepAliveS }, { runtime });
    // The string's identity when the link goes where it says (its gateway or its
    // hub); a hub assigned by provisioning is an identity of its own.
    const session = hubSession((host, deviceId) => (
      deviceId === identity.deviceId && host === (identity.gatewayHostName ?? identity.hostName)
        ? identity
        : { hostName: host, deviceId: deviceId ?? identity.deviceId, auth: identity.auth }
    ), keepAliveS, runtime);
    const connection = { ...(o.connection ?? {}), 'connection-string': connectionString };
    return new Device({
      ...o,
      [SESSION]: session,
      connection,
      topic: o.topic ?? settings.telemetryTopic,
      mqtt: { ...m, version: 4, tls: m.tls ?? {}, port: m.port ?? settings.port },
    });
  }

  /**
   * An IoT Hub device provisioned by DPS with a symmetric key: its own (`key`) or
   * its group enrollment's (`groupKey`, from which the component derives the
   * device's). `dps` is `{ idScope, registrationId, endpoint, key | groupKey, ca? }`
   * (`ca`: the PEM trusted for the DPS endpoint). The component mints the DPS token,
   * then the SAS tokens for whichever hub DPS assigns: MQTT 3.1.1 over TLS on 8883
   * (unless `mqtt.port`; `mqtt.tls` for the hub), names and the telemetry topic from
   * its `hub-mqtt-settings`. Other options as for `new Device` (no `hub`,
   * `deviceId` or `credential`: DPS assigns them).
   */
  static fromDps(dps, options = {}) {
    const d = checkKeys(dps, DPS_OPTIONS, 'dps');
    for (const k of ['idScope', 'registrationId', 'endpoint']) optString(d[k] ?? null, `dps.${k}`);
    if ((d.key === undefined) === (d.groupKey === undefined)) throw new ConfigError('dps', 'give exactly one of key and groupKey');
    const { o, m } = hubProfileOptions(options, 'DPS assigns it; leave it out');
    const runtime = o.runtime;
    const key = d.key !== undefined
      ? optString(d.key, 'dps.key')
      : deriveDeviceKey(optString(d.groupKey, 'dps.groupKey'), d.registrationId, { runtime });
    const provisioning = new DpsClient({
      endpoint: d.endpoint, idScope: d.idScope, registrationId: d.registrationId, key, ca: d.ca, runtime, timeoutMs: d.timeoutMs,
    });
    const keepAliveS = m.keepaliveS ?? 60;
    const session = hubSession((host, deviceId) => (
      { hostName: host, deviceId: deviceId ?? d.registrationId, auth: 'shared-access-key' }
    ), keepAliveS, runtime);
    const extra = o.connection ?? {};
    const connection = { ...extra, provisioning: extra.provisioning ?? {}, credential: { ...(extra.credential ?? {}), sas: { key } } };
    return new Device({
      ...o,
      [SESSION]: session,
      [PROVISIONING]: provisioning,
      connection,
      topic: o.topic ?? telemetryTopic(d.registrationId, undefined, [], { runtime }),
      mqtt: { ...m, version: 4, tls: m.tls ?? {}, port: m.port ?? 8883 },
    });
  }

  /** Begin connecting (once; later calls do nothing). Returns the device. */
  start() {
    this.#live('start');
    if (this.#started) return this;
    this.#started = true;
    log('starting');
    const err = this.#conn.start();
    if (err) log('start: %s', err);
    return this;
  }

  /**
   * Publish `payload` (string, Uint8Array or ArrayBuffer) at QoS 1 on `topic` (the
   * device's telemetry topic by default). Resolves with the outcome
   * (`{ tag: 'delivered' }` or `{ tag: 'failed', val }`); rejects with PublishRefused
   * when not accepted (`payload-too-large`, `queue-full`, `stopped`, ...), TypeError
   * on a bad argument, or `signal`'s reason when aborted (the message keeps its
   * place; its outcome still comes as an `'outcome'` event).
   */
  publish(payload, { topic, signal } = {}) {
    try {
      this.#live('publish');
      const t = topic ?? this.#topic;
      if (typeof t !== 'string') throw new TypeError(`topic must be a string, got ${typeName(t)} (no default topic: give { topic })`);
      if (signal?.aborted) return Promise.reject(abortError(signal));
      const id = this.#conn.publish(t, payloadBytes(payload));
      const outcome = this.#conn.waitForOutcome(id);
      this.#pending.add(outcome);
      outcome.finally(() => this.#pending.delete(outcome));
      if (!signal) return outcome;
      return new Promise((resolve, reject) => {
        const onAbort = () => reject(abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        outcome.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); });
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The current status: `{ at, status, reason }`. */
  get status() { this.#live('status'); return this.#conn.status(); }
  /** Whether a link is up. */
  get connected() { return this.#connected; }
  /** Messages accepted and not yet given an outcome. */
  get pendingMessages() { return this.#closed ? 0 : this.#conn.pendingMessages; }

  /**
   * Close the link and stop; messages without an outcome fail with `client-close`.
   * Resolves once every publish has its outcome. Calling it again does nothing.
   */
  async stop() {
    if (this.#closed) return;
    log('stopping');
    this.#conn.stop();
    await Promise.allSettled([...this.#pending]);
  }

  /** Stop, then release the component's connection; the device cannot be used again. */
  async close() {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    this.#conn.close();
  }

  [Symbol.asyncDispose]() { return this.close(); }

  /** Ask the application for a fresh credential; its answer (or refusal) goes to the component. */
  #renew(renew) {
    log('renewing the credential');
    Promise.resolve()
      .then(() => renew())
      .then((c) => {
        if (typeof c === 'string' && c) return { ok: { secret: c } };
        if (c && typeof c.secret === 'string' && c.secret) return { ok: { secret: c.secret, lifetimeMs: c.lifetimeMs } };
        throw new TypeError('renew() must give a non-empty string or { secret, lifetimeMs? }');
      })
      .catch((err) => {
        log('renew failed: %s', err?.message ?? err);
        return { error: Failure.application('unauthorized') };
      })
      .then((answer) => {
        if (this.#closed) return;
        const err = this.#conn.credential(answer);
        if (err) log('credential answer not taken: %s', err);
      });
  }

  #live(what) {
    if (this.#closed) throw new TetherError(`${what}: the device was closed`);
  }

  #status(s) {
    log('status %s %s', s.status, s.reason);
    const was = this.#connected;
    this.#connected = s.status === 'connected';
    this.#emit('status', s);
    if (this.#connected && !was) this.#emit('connected', s);
    if (!this.#connected && was) this.#emit('disconnected', s);
  }

  /** Emit without letting a listener that throws break the component's loop. */
  #emit(event, ...args) {
    try {
      this.emit(event, ...args);
    } catch (err) {
      log('a %s listener threw: %s', event, err?.message ?? err);
      const e = new TetherError(`a '${event}' listener threw: ${err?.message ?? err}`, { cause: err });
      if (this.listenerCount('error') > 0) {
        try { this.emit('error', e); } catch { /* an error listener that throws: nothing left to tell */ }
      } else {
        process.emitWarning(e.message, 'TetherListenerError');
      }
    }
  }
}
