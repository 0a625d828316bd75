// tether's transport on mqtt.js 5: one client per link, its own reconnecting off.
//
// The adapter decides nothing. It opens a link when the component says `open`,
// reports the first thing that ends it (`failed` before the CONNACK, `closed`
// after), maps each mqtt.js error to the contract's failure (`failureOf`, the
// table in README.md; the Rust transport's mapping in host/device/src/mqtt.rs is
// its specification) and hands PUBACKs back by message id. Keep-alive loss and
// the CONNACK timeout are recognised by where they happen (mqtt.js's
// `onKeepaliveTimeout` hook, the adapter's own connect timer), never by an error
// message.

import { createSecureContext } from 'node:tls';
import mqtt from 'mqtt';
import createDebug from 'debug';
import { ConfigError, Failure } from './connection.js';

const log = createDebug('tether:mqtt');

/** Socket error codes (Node's `err.code`) and the contract's network error. */
export const SOCKET_ERRORS = Object.freeze({
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  ECONNABORTED: 'reset',
  EPIPE: 'reset',
  ETIMEDOUT: 'timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
  EAI_NODATA: 'dns',
  ENETUNREACH: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENETDOWN: 'unreachable',
  EHOSTDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
});

/** OpenSSL's certificate verification codes, as Node's TLS socket names them. */
const CERT_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'OUT_OF_MEM',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA',
  'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
  'EPROTO',
]);

/** Whether a socket error is a TLS failure (a bad certificate, an alert, a handshake). */
export function isTlsError(err) {
  const code = typeof err?.code === 'string' ? err.code : '';
  return CERT_ERRORS.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') ||
    typeof err?.library === 'string';
}

/**
 * The contract's failure for an error mqtt.js emitted (or passed to a callback).
 * `version` is the link's MQTT version (4: 3.1.1, 5); `serverReference` the
 * CONNACK's server reference, if any.
 */
export function failureOf(err, { version = 4, serverReference } = {}) {
  const hints = serverReference ? { serverReference } : undefined;
  const code = err?.code;
  if (typeof code === 'number') {
    // ErrorWithReasonCode: a CONNACK refusal or a server's reason code.
    if (version === 5 && code >= 0x80 && code <= 0xff) return Failure.mqttReason(code, hints);
    if (version !== 5 && code >= 1 && code <= 5) return Failure.mqttConnack(code, hints);
    return Failure.network('closed');
  }
  if (typeof code === 'string') {
    // A reset during the handshake stays a reset; anything else TLS says is TLS.
    if (SOCKET_ERRORS[code]) return Failure.network(SOCKET_ERRORS[code]);
    if (isTlsError(err)) return Failure.network('tls');
    return Failure.network('closed');
  }
  // No code: the server broke the protocol (mqtt-packet's parser, a duplicate
  // CONNACK, an ack out of place). MQTT 5 has a reason code for that.
  return version === 5 ? Failure.mqttReason(0x82) : Failure.network('closed');
}

/** The failure of a server's MQTT 5 DISCONNECT packet (`undefined` when normal). */
export function disconnectFailure(packet) {
  const rc = packet?.reasonCode ?? 0;
  if (rc < 0x80) return Failure.network('closed');
  const serverReference = packet?.properties?.serverReference;
  return Failure.mqttReason(rc, serverReference ? { serverReference } : undefined);
}

/**
 * `host:port` or a bare host (DPS assigns bare host names) as `{ host, port }`,
 * `[v6]:port` too; `undefined` when no hub can answer at that address.
 */
export function splitAddress(address, defaultPort) {
  if (typeof address !== 'string') return undefined;
  const a = address.trim();
  if (!a || a.includes('/') || /\s/.test(a)) return undefined;
  const portOf = (p) => (/^\d{1,5}$/.test(p) && Number(p) > 0 && Number(p) < 65536 ? Number(p) : undefined);
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    if (end < 2) return undefined;
    const host = a.slice(1, end);
    const after = a.slice(end + 1);
    if (!after) return { host, port: defaultPort };
    const port = after.startsWith(':') ? portOf(after.slice(1)) : undefined;
    return port ? { host, port } : undefined;
  }
  const i = a.lastIndexOf(':');
  if (i < 0) return { host: a, port: defaultPort };
  const host = a.slice(0, i);
  if (!host || host.includes(':')) return undefined;
  const port = portOf(a.slice(i + 1));
  return port ? { host, port } : undefined;
}

/**
 * The session of one link in the plain MQTT profile: client id and user name the
 * device id (unless given), the credential as the password.
 */
export function plainSession({ clientId, username } = {}) {
  return (host, deviceId, credential) => ({
    clientId: clientId ?? deviceId ?? 'tether-device',
    username: credential === undefined ? username : (username ?? deviceId),
    password: credential,
  });
}

/**
 * tether's `transport` on mqtt.js 5. Give it to a Connection (`attach(conn)`
 * before `conn.start()`); a Device does both.
 *
 * Options: `version` (4 or 5, default 4), `keepaliveS` (30), `connectTimeoutMs`
 * (10000: TCP, TLS and CONNACK), `tls` (`{ ca, cert, key, servername, ... }`, Node's
 * TLS options; absent: plain TCP), `port` (for a hub without one; default 8883 with
 * TLS, 1883 without), `clean` (true), `session(host, deviceId, credential)` (the
 * CONNECT's `{ clientId, username, password, keepaliveS? }`; default `plainSession()`),
 * `connect` (mqtt.connect, replaceable for tests).
 */
export class MqttTransport {
  #conn;
  #links = new Map();

  constructor(options = {}) {
    const version = options.version ?? 4;
    if (version !== 4 && version !== 5) throw new TypeError(`mqtt version must be 4 (3.1.1) or 5, got ${version}`);
    this.version = version;
    this.keepaliveS = positive(options.keepaliveS ?? 30, 'keepaliveS');
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? 10000, 'connectTimeoutMs');
    this.tls = options.tls === true ? {} : options.tls;
    if (this.tls !== undefined && this.tls !== false) {
      if (typeof this.tls !== 'object' || this.tls === null) throw new ConfigError('mqtt.tls', 'expected TLS options (an object) or true');
      try {
        createSecureContext(this.tls); // a CA, certificate or key that does not parse fails here, not on a link
      } catch (err) {
        throw new ConfigError('mqtt.tls', `unusable TLS options: ${err.message}`);
      }
    } else {
      this.tls = undefined;
    }
    this.port = options.port;
    this.clean = options.clean ?? true;
    this.session = options.session ?? plainSession();
    this.connect = options.connect ?? mqtt.connect;
  }

  /** The connection this transport reports to. */
  attach(conn) { this.#conn = conn; }

  /** Links open or opening. */
  get links() { return this.#links.size; }

  open(link, hub, deviceId, credential) {
    const where = splitAddress(hub, this.port ?? (this.tls ? 8883 : 1883));
    if (!where) {
      log('link %s: %o is no address: bad-endpoint', String(link), hub);
      return this.#conn.failed(link, Failure.application('bad-endpoint'));
    }
    let session;
    try {
      session = this.session(where.host, deviceId, credential);
    } catch (err) {
      // The component refuses this identity: no hub would take it either.
      log('link %s: no session for %s (%s): bad-endpoint', String(link), where.host, err.message);
      return this.#conn.failed(link, Failure.application('bad-endpoint'));
    }
    const st = { client: undefined, open: false, done: false, failure: undefined, serverReference: undefined, timer: undefined };
    this.#links.set(link, st);
    log('link %s: connecting to %s:%d (%s, MQTT %s) as %s', String(link), where.host, where.port,
      this.tls ? 'TLS' : 'TCP', this.version === 5 ? '5' : '3.1.1', session.clientId);
    let client;
    try {
      client = this.connect({
        ...(this.tls ?? {}),
        host: where.host,
        port: where.port,
        protocol: this.tls ? 'mqtts' : 'mqtt',
        servername: this.tls?.servername ?? (/^[\d.]+$|:/.test(where.host) ? undefined : where.host),
        protocolVersion: this.version,
        clientId: session.clientId,
        username: session.username,
        password: session.password,
        keepalive: session.keepaliveS ?? this.keepaliveS,
        clean: session.clean ?? this.clean,
        reconnectPeriod: 0, // tether owns every wait
        // The adapter's own timer ends a slow connect; mqtt.js's never fires first.
        connectTimeout: this.connectTimeoutMs + 60_000,
        resubscribe: false,
        queueQoSZero: false,
      });
    } catch (err) {
      // mqtt.js refused the options at once: this link cannot be made.
      this.#links.delete(link);
      st.done = true;
      log('link %s: mqtt.js refused to connect (%s)', String(link), err?.code ?? err?.name);
      return this.#conn.failed(link, failureOf(err, { version: this.version }));
    }
    st.client = client;
    st.timer = setTimeout(() => {
      log('link %s: no CONNACK within %d ms', String(link), this.connectTimeoutMs);
      this.#end(link, st, Failure.network('timeout'));
    }, this.connectTimeoutMs);
    // Half open: no PINGRESP in time. mqtt.js calls this hook, then emits an error.
    const onKeepaliveTimeout = client.onKeepaliveTimeout;
    client.onKeepaliveTimeout = function keepAliveLost() {
      st.failure ??= Failure.keepAliveLost();
      return onKeepaliveTimeout.call(this);
    };
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') st.serverReference = packet.properties?.serverReference;
      else if (packet.cmd === 'disconnect') st.failure ??= disconnectFailure(packet);
    });
    client.on('connect', () => {
      clearTimeout(st.timer);
      if (st.done) return;
      st.open = true;
      log('link %s: connected', String(link));
      this.#conn.opened(link);
    });
    // Kept for the client's whole life: an 'error' with no listener would crash.
    client.on('error', (err) => {
      const failure = st.failure ?? failureOf(err, { version: this.version, serverReference: st.serverReference });
      this.#end(link, st, failure, err);
    });
    client.on('close', () => this.#end(link, st, st.failure ?? Failure.network('closed')));
  }

  send(link, message, topic, payload) {
    const st = this.#links.get(link);
    if (!st || st.done) return;
    try {
      this.#publish(link, st, message, topic, payload);
    } catch (err) {
      this.#end(link, st, Failure.network('closed'), err);
    }
  }

  #publish(link, st, message, topic, payload) {
    st.client.publish(topic, Buffer.from(payload), { qos: 1 }, (err) => {
      // At PUBACK. A refusal (MQTT 5 reason from 0x80) goes to the component,
      // whose refusal table resends or ends the message; 'Connection closed' is
      // the link's end, which 'close' reports.
      if (st.done) return;
      if (err) {
        log('link %s: message %s not acknowledged (%s)', String(link), message, typeof err.code === 'number' ? `reason 0x${err.code.toString(16)}` : 'link ended');
        if (typeof err.code === 'number' && err.code >= 0x80 && err.code <= 0xff) this.#conn.refused(message, Failure.mqttReason(err.code));
        return;
      }
      this.#conn.acked(message);
    });
  }

  subscribe(link, filters) {
    const st = this.#links.get(link);
    if (!st || st.done) return;
    st.client.subscribe(filters, { qos: 1 }, (err) => {
      if (err && !st.done) this.#end(link, st, Failure.network('closed'), err);
    });
  }

  close(link) {
    const st = this.#links.get(link);
    if (!st) return;
    this.#links.delete(link);
    st.done = true;
    clearTimeout(st.timer);
    log('link %s: closing', String(link));
    // A polite DISCONNECT, then the socket goes after a grace period whatever happens.
    const force = setTimeout(() => st.client.end(true), 1000);
    force.unref?.();
    st.client.end(false, () => clearTimeout(force));
  }

  /** The first report ends the link: `failed` before the CONNACK, `closed` after. */
  #end(link, st, failure, err) {
    clearTimeout(st.timer);
    if (st.done) return;
    st.done = true;
    this.#links.delete(link);
    st.client.end(true);
    log('link %s: %s %s%s', String(link), st.open ? 'lost' : 'failed', describe(failure),
      err ? ` (mqtt.js: ${err.code ?? err.name})` : '');
    if (st.open) this.#conn.closed(link, failure);
    else this.#conn.failed(link, failure);
  }
}

function describe(failure) {
  const { tag, val } = failure.kind;
  if (tag !== 'protocol') return `${tag}:${val}`;
  return val.val === undefined ? val.tag : `${val.tag}:${val.val}`;
}

function positive(v, what) {
  if (!Number.isFinite(v) || v <= 0) throw new TypeError(`${what} must be a positive number, got ${v}`);
  return v;
}
