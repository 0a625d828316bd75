// The component's `provisioning` on Azure DPS's REST API (HTTPS, API version
// 2021-06-01), as the Rust host (host/device/src/provisioning.rs) and the Python
// client do it:
//
// - register: PUT {endpoint}/{idScope}/registrations/{registrationId}/register with
//   {"registrationId"}; 202 {operationId, status: "assigning"} and Retry-After, or
//   200 once decided;
// - poll: GET .../operations/{operationId}: 202 again, or 200 {status: "assigned",
//   registrationState: {assignedHub, deviceId}}, or "failed" / "disabled" with the
//   registration's six-digit error code;
// - any other status is a failure with the status, the body's errorCode and the
//   Retry-After; a socket or TLS error is mapped as the MQTT transport maps it.
//
// The Authorization token is minted by the component (`identity.dps-token`). What
// to do about each answer (wait, poll, retry, give up) is the component's business.

import { request } from 'node:https';
import createDebug from 'debug';
import { Failure, dpsToken } from './connection.js';
import { failureOf } from './transport.js';

const log = createDebug('tether:dps');
const API_VERSION = '2021-06-01';
const TOKEN_LIFETIME_S = 3600;
const MAX_BODY = 64 * 1024;

function retryAfterMs(headers) {
  const v = headers?.['retry-after'];
  if (v === undefined) return undefined;
  const s = Number(v);
  return Number.isFinite(s) && s >= 0 ? Math.round(s * 1000) : undefined;
}

function httpFailure(status, body, retryAfter) {
  const code = body?.errorCode;
  const hubCode = Number.isInteger(code) && code >= 100000 && code < 1000000 ? code : undefined;
  const tracking = typeof body?.trackingId === 'string' ? body.trackingId : undefined;
  return Failure.http(status, { hubCode, retryAfterMs: retryAfter, serverReference: tracking });
}

/** What one DPS answer is, for the component's `provisioned` input. */
export function dpsAnswer(status, body, retryAfter) {
  const state = body?.status;
  const op = body?.operationId;
  if (status === 200 && state === 'assigned') {
    const reg = body.registrationState ?? {};
    if (typeof reg.assignedHub === 'string' && typeof reg.deviceId === 'string') {
      return { assigned: { hub: reg.assignedHub, deviceId: reg.deviceId } };
    }
    return { failed: httpFailure(500, body, retryAfter) };
  }
  if ((status === 200 || status === 202) && [undefined, 'assigning', 'unassigned'].includes(state) && typeof op === 'string') {
    return { pending: { operationId: op, retryAfterMs: retryAfter } };
  }
  if (status === 200 && typeof state === 'string') {
    const code = body.registrationState?.errorCode;
    if (code === undefined && state === 'disabled') return { failed: Failure.application('device-disabled', { retryAfterMs: retryAfter }) };
    const c = Number.isInteger(code) ? code : 500000;
    return { failed: httpFailure(Math.floor(c / 1000), { errorCode: c }, retryAfter) };
  }
  return { failed: httpFailure(status, body, retryAfter) };
}

function describe(answer) {
  if (answer.assigned) return `assigned ${answer.assigned.hub} ${answer.assigned.deviceId}`;
  if (answer.pending) return `pending ${answer.pending.operationId}`;
  const k = answer.failed.kind;
  return `failed ${k.tag} ${JSON.stringify(k.val)}`;
}

/**
 * The provisioning client over HTTPS. `key` is the device's symmetric key (base64;
 * for a group enrollment, the key the component derived). `ca` is the PEM to trust
 * for the DPS endpoint (Node's default roots when absent). `answer(a)` receives each
 * answer (a Connection's `provisioned`).
 */
export class DpsClient {
  #base;
  #idScope;
  #registrationId;
  #key;
  #ca;
  #runtime;
  #timeoutMs;
  answer = () => {};

  constructor({ endpoint, idScope, registrationId, key, ca, runtime, timeoutMs = 10000 }) {
    const url = new URL(endpoint);
    if (url.protocol !== 'https:') throw new TypeError(`dps.endpoint: expected an https:// URL, got ${url.protocol}`);
    this.#base = `${endpoint.replace(/\/+$/, '')}/${encodeURIComponent(idScope)}/registrations/${encodeURIComponent(registrationId)}`;
    this.#idScope = idScope;
    this.#registrationId = registrationId;
    this.#key = key;
    this.#ca = ca;
    this.#runtime = runtime;
    this.#timeoutMs = timeoutMs;
  }

  /** Never the key. */
  toString() { return `DpsClient(${this.#base})`; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.toString(); }

  register() {
    this.#exchange('PUT', `${this.#base}/register?api-version=${API_VERSION}`, JSON.stringify({ registrationId: this.#registrationId }));
  }

  poll(operationId) {
    // The operation id goes into a path: refuse anything that could change it.
    if (typeof operationId !== 'string' || !/^[A-Za-z0-9._~-]+$/.test(operationId)) {
      queueMicrotask(() => this.answer({ failed: Failure.application('bad-endpoint') }));
      return;
    }
    this.#exchange('GET', `${this.#base}/operations/${operationId}?api-version=${API_VERSION}`, undefined);
  }

  #exchange(method, url, body) {
    let token;
    try {
      const expiry = BigInt(Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S);
      token = dpsToken(this.#idScope, this.#registrationId, this.#key, expiry, this.#runtime ? { runtime: this.#runtime } : undefined);
    } catch {
      queueMicrotask(() => this.answer({ failed: Failure.application('unauthorized') }));
      return;
    }
    const where = url.split('?')[0];
    let done = false;
    const finish = (answer) => {
      if (done) return;
      done = true;
      log('%s %s -> %s', method, where, describe(answer));
      this.answer(answer);
    };
    const req = request(url, {
      method,
      ca: this.#ca,
      timeout: this.#timeoutMs,
      headers: {
        Authorization: token,
        Accept: 'application/json',
        'Content-Type': 'application/json; charset=utf-8',
        ...(body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }),
      },
    }, (res) => {
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
      });
      res.on('error', (err) => finish({ failed: failureOf(err) }));
      res.on('end', () => {
        let parsed = {};
        try { parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'); } catch { /* not JSON: the status says it */ }
        finish(dpsAnswer(res.statusCode ?? 500, parsed, retryAfterMs(res.headers)));
      });
    });
    req.on('timeout', () => {
      finish({ failed: Failure.network('timeout') });
      req.destroy();
    });
    req.on('error', (err) => finish({ failed: failureOf(err) }));
    req.end(body);
  }
}
