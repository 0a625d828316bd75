// Portability smoke test: load the tether component from Node and run one scripted
// reconnection flow against a virtual clock.
//
// Usage: node smoke.mjs TRANSPILED_DIR [--bench]
//
// TRANSPILED_DIR holds `tether.js` and its core modules, made by
//   jco transpile tether_component.wasm -o TRANSPILED_DIR --name tether \
//       --instantiation sync --no-wasi-shim --quiet
// so the imports are passed in here (synchronous functions; u64 is a BigInt) and no
// WASI shim is needed. The script and the canonical transcript it prints to stdout
// are the same as tests/smoke/python/smoke.py's, byte for byte, ending with
// `node smoke: ok`. Timings go to stderr, never to stdout.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const NS_PER_MS = 1_000_000n;
// The virtual clock starts well away from zero, so "relative to start" is really tested.
const T0_NS = 1_000_000n * NS_PER_MS;
const HUB = 'hub-a:8883';
const CONFIG =
  '{"hub":"hub-a:8883","seed":7,' +
  '"policy":{"kind":"exponential","initial-ms":1000,"max-ms":8000,"jitter":"none"}}';
const BAD_CONFIG = '{"hub":"h","policy":{"kind":"bogus"}}';
const TOPIC = 'devices/smoke/messages/events';
const PAYLOAD = new TextEncoder().encode('hello');
// A fixed answer to wasi:random, in case the component asks (the config has a seed).
const RANDOM_U64 = 0x5eed5eed5eed5eedn;

class SmokeFailure extends Error {}

function check(cond, message) {
  if (!cond) throw new SmokeFailure(message);
}

/** An instant as milliseconds since the start of the virtual clock. */
function relMs(ns) {
  return ns >= T0_NS ? (ns - T0_NS) / NS_PER_MS : -((T0_NS - ns) / NS_PER_MS);
}

const opt = (v) => (v === undefined || v === null ? '-' : String(v));
const hex = (bytes) => Buffer.from(bytes).toString('hex');

function fmtClassification(c) {
  return `${c.level} ${c.verdict} ${c.reason} ${c.rule}`;
}

function fmtAction(action) {
  const { tag, val } = action;
  switch (tag) {
    case 'connect':
      return `connect ${val.link} ${val.hub} attempt ${val.attempt}`;
    case 'backoff':
      return (
        `backoff ${val.delayMs} attempt ${val.attempt}` +
        ` ${val.curve} then ${val.thenProvision ? 'provision' : 'reconnect'}`
      );
    case 'renew-credential':
      return 'renew-credential ' + (val ? 'routine' : 'forced');
    case 'provision':
      return 'provision';
    case 'poll-provisioning':
      return `poll-provisioning ${val}`;
    case 'give-up':
      return `give-up ${val}`;
    default:
      throw new SmokeFailure(`unknown action tag ${tag}`);
  }
}

function fmtOutcome(outcome) {
  return outcome.tag === 'delivered' ? 'delivered' : `${outcome.tag} ${outcome.val}`;
}

/** The imports: a virtual clock and recorders for every call the component makes. */
class Host {
  constructor() {
    this.nowNs = T0_NS;
    this.lines = []; // the canonical transcript
    this.calls = []; // [kind, data] since the last take()
    this.recording = true;
  }

  say(line) {
    if (this.recording) this.lines.push(line);
  }

  record(kind, line, data = {}) {
    if (!this.recording) return;
    this.calls.push([kind, data]);
    this.lines.push(line);
  }

  take() {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }

  advanceTo(ns) {
    this.nowNs = ns;
    this.say(`clock ${relMs(ns)}`);
  }

  /** The import object, keyed by interface name as jco asks for it (without version). */
  imports() {
    const byName = {
      'wasi:clocks/monotonic-clock': {
        now: () => this.nowNs,
      },
      // Read only when a token is minted from a key; this flow has none.
      'wasi:clocks/wall-clock': {
        now: () => {
          this.record('wall-clock', 'wall-clock');
          return { seconds: 1_700_000_000n, nanoseconds: 0 };
        },
      },
      'wasi:random/random': {
        getRandomU64: () => {
          this.record('random', 'random');
          return RANDOM_U64;
        },
      },
      'tether:reconnect/types': {},
      'tether:reconnect/transport': {
        open: (link, hub, deviceId, credential) =>
          this.record('open', `open ${link} ${hub} ${opt(deviceId)} ${opt(credential)}`, { link, hub }),
        send: (link, message, topic, payload) => {
          const bytes = Uint8Array.from(payload);
          this.record('send', `send ${link} ${message} ${topic} ${hex(bytes)}`, {
            link, message, topic, payload: bytes,
          });
        },
        close: (link) => this.record('close', `close ${link}`, { link }),
        subscribe: (link, filters) => this.record('subscribe', `subscribe ${link} ${filters.join(',')}`, { link }),
      },
      'tether:reconnect/provisioning': {
        register: () => this.record('register', 'register'),
        poll: (operationId) => this.record('poll', `poll ${operationId}`, { operationId }),
      },
      'tether:reconnect/credentials': {
        renew: () => this.record('renew', 'renew'),
      },
      'tether:reconnect/events': {
        statusChanged: (change) =>
          this.record('status', `status ${change.status} ${change.reason} at ${relMs(change.at)}`, {
            status: change.status, reason: change.reason, at: change.at,
          }),
        decided: (event) => {
          let line = `decide ${fmtAction(event.action)} at ${relMs(event.at)}`;
          if (event.cause !== undefined) line += ` cause ${fmtClassification(event.cause)}`;
          this.record('decide', line, { action: event.action.tag, payload: event.action.val, cause: event.cause });
        },
        messageOutcome: (message, outcome) => {
          const text = fmtOutcome(outcome);
          this.record('outcome', `outcome ${message} ${text}`, { message, outcome: text });
        },
        wakeAt: (deadline) => this.record('wake-at', `wake-at ${relMs(deadline)}`, { deadline }),
        pluginFault: (fault) => this.record('plugin-fault', `plugin-fault ${fault.reason}`),
      },
      // This smoke host runs no plugins: the engine falls back.
      'tether:reconnect/policy-plugins': {
        decide: () => ({ tag: 'failed', val: { reason: 'unavailable', detail: 'the smoke host runs no plugins' } }),
      },
    };
    // jco looks imports up by interface name; accept a versioned key too.
    return new Proxy(byName, {
      get: (target, key) => (typeof key === 'string' ? target[key.split('@')[0]] : undefined),
    });
  }
}

function failure(kind) {
  return { kind, retryAfterMs: undefined, serverReference: undefined };
}

/** Call an export returning result<T, E>: jco returns T and throws E as `payload`. */
function expectOk(what, fn) {
  try {
    return fn();
  } catch (err) {
    if (err && 'payload' in err) throw new SmokeFailure(`${what}: expected ok, got err ${JSON.stringify(err.payload)}`);
    throw err;
  }
}

const kinds = (calls, kind) => calls.filter(([k]) => k === kind).map(([, d]) => d);

function one(calls, kind, step) {
  const found = kinds(calls, kind);
  check(found.length === 1, `${step}: expected exactly one ${kind}, got ${found.length}: ${show(calls)}`);
  return found[0];
}

function show(value) {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

function runScript(root, host) {
  const { Connection } = root.connection;

  // create
  host.say('> create');
  const conn = expectOk('create', () => Connection.create(CONFIG));
  check(conn instanceof Connection, `create: expected a connection, got ${show(conn)}`);
  host.take();

  // start -> open link 1
  host.say('> start');
  expectOk('start', () => conn.start());
  let calls = host.take();
  let opened = one(calls, 'open', 'start');
  check(opened.link === 1n, `start: expected transport.open for link 1, got link ${opened.link}`);
  check(opened.hub === HUB, `start: expected transport.open to ${HUB}, got ${opened.hub}`);

  // on-failed(1, network refused) -> disconnected-retrying, backoff 1000, wake-at +1000 ms
  host.say('> on-failed 1 network refused');
  const failedAt = host.nowNs;
  expectOk('on-failed', () => conn.onFailed(1n, failure({ tag: 'network', val: 'refused' })));
  calls = host.take();
  check(kinds(calls, 'open').length === 0, `on-failed: no transport.open expected yet, got ${show(calls)}`);
  let status = one(calls, 'status', 'on-failed');
  check(
    status.status === 'disconnected-retrying' && status.reason === 'communication-error',
    `on-failed: expected status disconnected-retrying / communication-error, got ${status.status} / ${status.reason}`,
  );
  const backoffs = kinds(calls, 'decide').filter((d) => d.action === 'backoff');
  check(backoffs.length === 1, `on-failed: expected one backoff decision, got ${show(calls)}`);
  const delay = backoffs[0].payload.delayMs;
  check(delay === 1000n, `on-failed: expected a backoff of 1000 ms, got ${delay} ms`);
  const wake = one(calls, 'wake-at', 'on-failed');
  const deadline = wake.deadline;
  check(
    deadline === failedAt + 1000n * NS_PER_MS,
    `on-failed: expected wake-at ${relMs(failedAt) + 1000n} ms, got ${relMs(deadline)} ms`,
  );

  // one millisecond early: nothing opens
  host.advanceTo(deadline - NS_PER_MS);
  host.say('> on-wake');
  conn.onWake();
  calls = host.take();
  check(kinds(calls, 'open').length === 0, `on-wake 1 ms before the deadline must not open, got ${show(calls)}`);

  // at the deadline: link 2 opens
  host.advanceTo(deadline);
  host.say('> on-wake');
  conn.onWake();
  calls = host.take();
  opened = one(calls, 'open', 'on-wake at the deadline');
  check(opened.link === 2n, `on-wake: expected transport.open for link 2, got link ${opened.link}`);
  check(opened.hub === HUB, `on-wake: expected transport.open to ${HUB}, got ${opened.hub}`);

  // on-opened(2) -> connected / connection-ok
  host.say('> on-opened 2');
  expectOk('on-opened', () => conn.onOpened(2n));
  calls = host.take();
  status = one(calls, 'status', 'on-opened');
  check(
    status.status === 'connected' && status.reason === 'connection-ok',
    `on-opened: expected status connected / connection-ok, got ${status.status} / ${status.reason}`,
  );

  // publish -> transport.send on link 2
  host.say(`> publish ${TOPIC} ${hex(PAYLOAD)}`);
  const message = expectOk('publish', () => conn.publish(TOPIC, PAYLOAD));
  check(typeof message === 'bigint', `publish: expected a message id, got ${show(message)}`);
  host.say(`= message ${message}`);
  calls = host.take();
  const sent = one(calls, 'send', 'publish');
  check(
    sent.link === 2n && sent.message === message && sent.topic === TOPIC && hex(sent.payload) === hex(PAYLOAD),
    `publish: expected send(2, ${message}, ${TOPIC}, ${hex(PAYLOAD)}), got ${show(sent)}`,
  );

  // on-acked -> message-outcome delivered
  host.say(`> on-acked ${message}`);
  expectOk('on-acked', () => conn.onAcked(message));
  calls = host.take();
  const outcome = one(calls, 'outcome', 'on-acked');
  check(
    outcome.message === message && outcome.outcome === 'delivered',
    `on-acked: expected message-outcome ${message} delivered, got ${show(outcome)}`,
  );

  // publish, on-refused 0x87 -> message-outcome failed not-authorized, link kept
  host.say(`> publish ${TOPIC} ${hex(PAYLOAD)}`);
  const refused = expectOk('publish', () => conn.publish(TOPIC, PAYLOAD));
  host.say(`= message ${refused}`);
  host.take();
  host.say(`> on-refused ${refused} protocol mqtt-reason 0x87`);
  expectOk('on-refused', () => conn.onRefused(refused, failure({ tag: 'protocol', val: { tag: 'mqtt-reason', val: 0x87 } })));
  calls = host.take();
  const refusedOutcome = one(calls, 'outcome', 'on-refused');
  check(
    refusedOutcome.message === refused && refusedOutcome.outcome === 'failed not-authorized',
    `on-refused: expected message-outcome ${refused} failed not-authorized, got ${show(refusedOutcome)}`,
  );
  check(!calls.some((c) => c[0] === 'status'), `on-refused: the status changed: ${show(calls)}`);

  // stop -> disabled / client-close
  host.say('> stop');
  conn.stop();
  calls = host.take();
  status = one(calls, 'status', 'stop');
  check(
    status.status === 'disabled' && status.reason === 'client-close',
    `stop: expected status disabled / client-close, got ${status.status} / ${status.reason}`,
  );
  conn[Symbol.dispose ?? Symbol.for('dispose')]();

  // classify mqtt5 0x87 -> renew-credential
  host.say('> classify protocol mqtt-reason 0x87');
  const c = root.decisions.classify(failure({ tag: 'protocol', val: { tag: 'mqtt-reason', val: 0x87 } }));
  host.say(`= classification ${fmtClassification(c)}`);
  check(
    c.verdict === 'renew-credential',
    `classify mqtt5 0x87: expected verdict renew-credential, got ${c.verdict}`,
  );

  // a bad config names its field
  host.say(`> create ${BAD_CONFIG}`);
  let bad;
  try {
    const made = Connection.create(BAD_CONFIG);
    made[Symbol.dispose ?? Symbol.for('dispose')]();
  } catch (err) {
    if (!(err && 'payload' in err)) throw err;
    bad = err.payload;
  }
  check(bad !== undefined, 'create with a bogus policy kind: expected a config-error, got a connection');
  host.say(`= config-error ${bad.field}: ${bad.message}`);
  check(
    bad.field === 'policy.kind',
    `create with a bogus policy kind: expected config-error field policy.kind, got ${JSON.stringify(bad.field)}`,
  );
  check(host.take().length === 0, 'create with a bad config must call no import');
}

function bench(instantiate, getCoreModule, root, host) {
  host.recording = false;
  const f = failure({ tag: 'protocol', val: { tag: 'mqtt-reason', val: 0x87 } });
  const { classify, tableVersion } = root.decisions;
  for (let i = 0; i < 2000; i++) classify(f);
  const n = 100_000;
  let t = performance.now();
  for (let i = 0; i < n; i++) tableVersion();
  const perTrivial = (performance.now() - t) / n;
  t = performance.now();
  for (let i = 0; i < n; i++) classify(f);
  const perCall = (performance.now() - t) / n;
  const m = 200;
  t = performance.now();
  for (let i = 0; i < m; i++) instantiate(getCoreModule, host.imports());
  const perInst = (performance.now() - t) / m;
  process.stderr.write(
    `node bench: table-version ${(perTrivial * 1e3).toFixed(2)} us/call, ` +
      `classify ${(perCall * 1e3).toFixed(2)} us/call (${n} calls each); ` +
      `instantiate ${perInst.toFixed(3)} ms (compiled core modules, ${m} runs)\n`,
  );
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 1) {
    process.stderr.write('usage: node smoke.mjs TRANSPILED_DIR [--bench]\n');
    return 2;
  }
  const dir = resolve(args[0]);
  const { instantiate } = await import(pathToFileURL(join(dir, 'tether.js')).href);
  const modules = new Map();
  let t = performance.now();
  const getCoreModule = (path) => {
    let m = modules.get(path);
    if (!m) {
      m = new WebAssembly.Module(readFileSync(join(dir, path)));
      modules.set(path, m);
    }
    return m;
  };
  const host = new Host();
  const root = instantiate(getCoreModule, host.imports());
  const firstMs = performance.now() - t;
  process.stderr.write(`node ${process.version}: compile + first instantiate ${firstMs.toFixed(2)} ms\n`);
  try {
    runScript(root, host);
  } catch (err) {
    process.stdout.write(host.lines.join('\n') + '\n');
    process.stderr.write(`node smoke: FAILED: ${err instanceof SmokeFailure ? err.message : err.stack}\n`);
    return 1;
  }
  process.stdout.write(host.lines.join('\n') + '\n');
  if (args.slice(1).includes('--bench')) bench(instantiate, getCoreModule, root, host);
  process.stdout.write('node smoke: ok\n');
  return 0;
}

process.exitCode = await main();
