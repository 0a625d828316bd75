// The Node conformance runner: replays every vector through the component and prints
// one canonical line per vector (tests/conformance/FORMAT.md).
//
//   node bindings/node/conformance.mjs TETHER.wasm VECTORS_DIR [--check]
//
// Lines are `<name>: <line>`, in file-name order. The component is the prebuilt
// ./dist when it was transpiled from exactly TETHER.wasm (same SHA-256), otherwise
// TETHER.wasm is transpiled on the fly into a temporary directory. With --check each
// line is also compared with the vector's `expected` (mismatches to stderr, exit 1).
// A malformed vector exits 2. The runner decides nothing: it drives Connection at
// the given virtual times and renders what it was told.

import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ConfigError, Connection, DIST, Failure, PublishRefused, RetrySchedule, Runtime, SubscribeRefused, VirtualClock,
  classify, formatClassification, formatDecision, formatOutcome, validateConfig,
  connectionStringToken, deriveDeviceKey, dpsToken, hubMqttSettings, hubResourceUri,
  parseConnectionString, sasToken, telemetryTopic,
} from './index.js';
import { build, sha256, transpiledFrom } from './build.mjs';

const NS_PER_MS = 1_000_000n;

class VectorError extends Error {}

/**
 * JSON.parse, except that integers too large for a double (a u64 seed) become
 * BigInts instead of losing digits.
 */
export function parseJson(text) {
  const MARK = '\u0000u64:';
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (/[0-9-]/.test(ch)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      const tok = m ? m[0] : ch;
      out += /^\d{16,}$/.test(tok) ? JSON.stringify(MARK + tok) : tok;
      i += tok.length;
    } else {
      out += ch;
      i += 1;
    }
  }
  return JSON.parse(out, (_k, v) => (typeof v === 'string' && v.startsWith(MARK) ? BigInt(v.slice(MARK.length)) : v));
}

const FAILURE_KEYS = ['network', 'mqtt-connack', 'mqtt-reason', 'amqp', 'http', 'protocol', 'application'];

function failure(obj) {
  if (!obj || typeof obj !== 'object') throw new VectorError(`a failure is an object, not ${JSON.stringify(obj)}`);
  const kinds = FAILURE_KEYS.filter((k) => k in obj);
  const unknown = Object.keys(obj).filter((k) => !FAILURE_KEYS.includes(k) && k !== 'retry-after-ms' && k !== 'server-reference');
  if (kinds.length !== 1 || unknown.length) throw new VectorError(`a failure has exactly one kind key: ${JSON.stringify(obj)}`);
  const h = { retryAfterMs: obj['retry-after-ms'], serverReference: obj['server-reference'] };
  const val = obj[kinds[0]];
  switch (kinds[0]) {
    case 'network': return Failure.network(val, h);
    case 'mqtt-connack': return Failure.mqttConnack(val, h);
    case 'mqtt-reason': return Failure.mqttReason(val, h);
    case 'amqp': return Failure.amqp(val, h);
    case 'http': return Failure.http(val.status, { ...h, hubCode: val['hub-code'] });
    case 'application': return Failure.application(val, h);
    default: {
      const make = { 'keep-alive-lost': Failure.keepAliveLost, 'session-expired': Failure.sessionExpired, 'link-detached': Failure.linkDetached }[val];
      if (!make) throw new VectorError(`unknown protocol failure ${JSON.stringify(val)}`);
      return make(h);
    }
  }
}

const credential = (c) => ({ secret: c.secret, lifetimeMs: c['lifetime-ms'] });
const configError = (e) => `error ${e.field}: ${e.detail}`;

function guard(fn) {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) return configError(err);
    throw err;
  }
}

const dash = (v) => (v === undefined || v === null ? '-' : v);

function identityLine(runtime, call, a) {
  const o = { runtime };
  switch (call) {
    case 'parse-connection-string': {
      const i = parseConnectionString(a.text, o);
      return `${i.hostName} ${i.deviceId} ${dash(i.moduleId)} ${dash(i.gatewayHostName)} ${dash(i.keyName)} ${i.auth}`;
    }
    case 'connection-string-token': return connectionStringToken(a.text, a.expiry, o);
    case 'sas-token': return sasToken(a['resource-uri'], a.key, a['key-name'], a.expiry, o);
    case 'hub-resource-uri': return hubResourceUri(a['host-name'], a['device-id'], a['module-id'], o);
    case 'dps-token': return dpsToken(a['id-scope'], a['registration-id'], a.key, a.expiry, o);
    case 'derive-device-key': return deriveDeviceKey(a['group-key'], a['registration-id'], o);
    case 'hub-mqtt-settings': {
      const i = a.identity;
      const opts = a.options ?? {};
      const s = hubMqttSettings(
        { hostName: i['host-name'], deviceId: i['device-id'], moduleId: i['module-id'],
          gatewayHostName: i['gateway-host-name'], keyName: i['key-name'], auth: i.auth },
        { apiVersion: opts['api-version'], userAgent: opts['user-agent'], modelId: opts['model-id'],
          keepAliveS: opts['keep-alive-s'] },
        o);
      return `${s.host} ${s.port} ${s.clientId} ${s.userName} ${s.telemetryTopic} ${dash(s.cloudToDeviceFilter)} ${s.keepAliveS} ${s.cleanSession}`;
    }
    case 'telemetry-topic': return telemetryTopic(a['device-id'], a['module-id'], a.properties, o);
    default: throw new Error(`unknown identity call ${call}`);
  }
}

const runners = {
  identity: (runtime, v) => guard(() => `ok ${identityLine(runtime, v.call, v.args)}`),

  classify: (runtime, v) => formatClassification(classify(failure(v.failure), { runtime })),

  validate: (runtime, v) => guard(() => {
    validateConfig(v.config, { runtime });
    return 'ok';
  }),

  schedule: (runtime, v) => guard(() => {
    const schedule = new RetrySchedule(v.policy, v.seed, { runtime });
    const steps = v.steps;
    const elapsed = v['elapsed-ms'] ?? steps.map(() => null);
    if (elapsed.length !== steps.length) throw new VectorError('elapsed-ms and steps differ in length');
    const out = [];
    try {
      for (let i = 0; i < steps.length; i++) {
        const d = schedule.next(steps[i] === null ? undefined : failure(steps[i]), elapsed[i] ?? undefined);
        if (d.tag === 'give-up') {
          out.push(`give-up:${d.val}`);
          break;
        }
        out.push(String(d.val));
      }
    } finally {
      schedule.close();
    }
    return out.join(' ');
  }),

  flow: (runtime, v) => {
    const clock = new VirtualClock(0n);
    let items = [];
    const rec = {
      open: (link, hub, deviceId, cred) => items.push(`open ${link} ${hub} ${deviceId ?? '-'} ${cred ?? '-'}`),
      send: (link, message, topic, payload) => items.push(`send ${link} ${message} ${topic} ${payload.length}`),
      close: (link) => items.push(`close ${link}`),
      subscribe: (link, filters) => items.push(`subscribe ${link} ${filters.join(',')}`),
      register: () => items.push('register'),
      poll: (op) => items.push(`poll ${op}`),
      renew: () => items.push('renew'),
    };
    let conn;
    try {
      conn = new Connection(v.config, { transport: rec, provisioning: rec, credentials: rec, clock, entropy: () => 0n, runtime, timers: false });
    } catch (err) {
      if (err instanceof ConfigError) return configError(err);
      throw err;
    }
    conn.on('status', (s) => items.push(`status ${s.status} ${s.reason}`));
    conn.on('decision', (d) => items.push(`decide ${formatDecision(d)}`));
    conn.on('outcome', (id, o) => items.push(`outcome ${id} ${formatOutcome(o)}`));
    conn.on('wake-at', (deadline) => items.push(`wake-at ${deadline / NS_PER_MS}`));
    const out = [];
    try {
      for (const ev of v.events) {
        clock.setMs(ev.at);
        out.push(`t=${ev.at}`);
        const result = apply(conn, ev);
        if (result !== undefined) out.push(result);
        out.push(...items);
        items = [];
      }
    } finally {
      conn.close();
    }
    return out.join(' ; ');
  },
};

function apply(conn, ev) {
  let err;
  switch (ev.input) {
    case 'start': err = conn.start(); break;
    case 'opened': err = conn.opened(ev.link); break;
    case 'failed': err = conn.failed(ev.link, failure(ev.failure)); break;
    case 'closed': err = conn.closed(ev.link, failure(ev.failure)); break;
    case 'acked': err = conn.acked(ev.message); break;
    case 'refused': err = conn.refused(ev.message, failure(ev.failure)); break;
    case 'provisioned':
      if (ev.assigned) {
        const a = ev.assigned;
        err = conn.provisioned({ assigned: { hub: a.hub, deviceId: a['device-id'], credential: a.credential && credential(a.credential) } });
      } else if (ev.pending) {
        err = conn.provisioned({ pending: { operationId: ev.pending['operation-id'], retryAfterMs: ev.pending['retry-after-ms'] } });
      } else if (ev.failed) {
        err = conn.provisioned({ failed: failure(ev.failed) });
      } else {
        throw new VectorError(`a provisioned input has assigned, pending or failed: ${JSON.stringify(ev)}`);
      }
      break;
    case 'credential':
      if (ev.ok) err = conn.credential({ ok: credential(ev.ok) });
      else if (ev.error) err = conn.credential({ error: failure(ev.error) });
      else throw new VectorError(`a credential input has ok or error: ${JSON.stringify(ev)}`);
      break;
    case 'wake': conn.wake(); break;
    case 'publish':
      try {
        return `published ${conn.publish(ev.topic, new TextEncoder().encode(ev.payload))}`;
      } catch (e) {
        if (e instanceof PublishRefused) return `publish-error ${e.reason}`;
        throw e;
      }
    case 'subscribe':
      try {
        conn.subscribe(ev.topic);
        return 'subscribed';
      } catch (e) {
        if (e instanceof SubscribeRefused) return `subscribe-error ${e.reason}`;
        throw e;
      }
    case 'stop': conn.stop(); break;
    default: throw new VectorError(`unknown input ${JSON.stringify(ev.input)}`);
  }
  return err === undefined ? undefined : `input-error ${err}`;
}

/** The runtime for `wasm`: ./dist when it was made from it, else a fresh transpile. */
async function runtimeFor(wasm) {
  const digest = await sha256(wasm);
  const dist = await transpiledFrom(DIST);
  if (dist?.sha256 === digest) return Runtime.load(DIST);
  const { outDir } = await build(wasm, join(tmpdir(), `tether-node-${digest.slice(0, 16)}`));
  return Runtime.load(outDir);
}

async function main(argv) {
  const check = argv.includes('--check');
  const args = argv.filter((a) => !a.startsWith('--'));
  if (args.length !== 2) {
    process.stderr.write('usage: node conformance.mjs TETHER.wasm VECTORS_DIR [--check]\n');
    return 2;
  }
  const runtime = await runtimeFor(resolve(args[0]));
  const dir = resolve(args[1]);
  // file-name order, by bytes (the same order in every runner)
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (!files.length) {
    process.stderr.write(`conformance: no *.json vectors in ${dir}\n`);
    return 2;
  }
  const lines = [];
  let mismatches = 0;
  for (const file of files) {
    let v;
    let line;
    try {
      v = parseJson(readFileSync(join(dir, file), 'utf8'));
      const run = runners[v.kind];
      if (!run) throw new VectorError(`unknown kind ${JSON.stringify(v.kind)}`);
      line = run(runtime, v);
    } catch (err) {
      if (!(err instanceof VectorError || err instanceof TypeError || err instanceof SyntaxError)) throw err;
      process.stdout.write(lines.join(''));
      process.stderr.write(`conformance: ${file}: malformed vector: ${err.message}\n`);
      return 2;
    }
    lines.push(`${v.name}: ${line}\n`);
    if (check && line !== v.expected) {
      mismatches += 1;
      process.stderr.write(`MISMATCH ${v.name}\n  expected: ${v.expected}\n  actual:   ${line}\n`);
    }
  }
  process.stdout.write(lines.join(''));
  if (check) process.stderr.write(`conformance (node): ${files.length - mismatches} passed, ${mismatches} failed\n`);
  return mismatches ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
