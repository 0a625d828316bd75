// A device that publishes numbered telemetry over MQTT (mqtt.js), with tether
// deciding every reconnect.
//
//   node examples/node/device.mjs HOST:PORT [COUNT] [INTERVAL_MS] [--device-id ID] [--timeout SECONDS]
//
// mqtt.js is the transport and nothing more: its own reconnecting is off
// (reconnectPeriod 0), each link tether opens is a fresh client, and every failure
// goes to tether, which says when to try again; the Connection sets a timer for
// every wake-up tether asks for. It publishes COUNT messages (QoS 1, one every
// INTERVAL_MS), prints each status, decision and outcome, and exits once every
// message has an outcome, with a summary:
// `summary published=N accepted=N delivered=N failed=N refused=N`.
// Exit code 0 when everything was delivered, 1 when something failed, 2 on --timeout.

import mqtt from 'mqtt';
import { Connection, Failure, PublishRefused, formatDecision, formatOutcome } from 'tether';

const START = performance.now();
const say = (text) => process.stdout.write(`[${((performance.now() - START) / 1000).toFixed(3).padStart(7)}s] ${text}\n`);

/** What a socket error is, in tether's terms. */
function networkFailure(code) {
  switch (code) {
    case 'ECONNREFUSED': return Failure.network('refused');
    case 'ECONNRESET':
    case 'EPIPE': return Failure.network('reset');
    case 'ETIMEDOUT': return Failure.network('timeout');
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return Failure.network('dns');
    case 'ENETUNREACH':
    case 'EHOSTUNREACH': return Failure.network('unreachable');
    default: return Failure.network('closed');
  }
}

/** What an mqtt.js 'error' is, in tether's terms. */
function failureOf(err) {
  if (typeof err.code === 'number') return Failure.mqttConnack(err.code); // CONNACK refusal (MQTT 3.1.1)
  if (err.message === 'Keepalive timeout') return Failure.keepAliveLost();
  if (err.message === 'connack timeout') return Failure.network('timeout');
  return networkFailure(err.code);
}

/** tether's transport on mqtt.js: one client per link. */
class MqttTransport {
  constructor({ keepalive }) {
    this.keepalive = keepalive;
    this.links = new Map(); // link -> { client, open, done }
    this.conn = undefined;
  }

  open(link, hub, deviceId, credential) {
    const i = hub.lastIndexOf(':');
    const client = mqtt.connect({
      host: hub.slice(0, i),
      port: Number(hub.slice(i + 1)),
      protocol: 'mqtt',
      protocolVersion: 4,
      clientId: deviceId ?? '',
      clean: true,
      keepalive: this.keepalive,
      reconnectPeriod: 0, // tether owns every wait
      connectTimeout: 5000,
      username: credential === undefined ? undefined : deviceId,
      password: credential,
    });
    const st = { client, open: false, done: false };
    this.links.set(link, st);
    client.on('connect', () => {
      if (st.done) return;
      st.open = true;
      this.conn.opened(link);
    });
    client.on('error', (err) => this.#lost(link, st, failureOf(err)));
    client.on('close', () => this.#lost(link, st, Failure.network('closed')));
  }

  send(link, message, topic, payload) {
    const st = this.links.get(link);
    if (!st || st.done) return;
    st.client.publish(topic, Buffer.from(payload), { qos: 1 }, (err) => {
      // The callback of a QoS 1 publish runs at PUBACK; an error means the link went
      // away, which 'close' reports.
      if (!err && !st.done) this.conn.acked(message);
    });
  }

  close(link) {
    const st = this.links.get(link);
    if (!st) return;
    this.links.delete(link);
    st.done = true;
    st.client.end(true);
  }

  #lost(link, st, failure) {
    if (st.done) return;
    st.done = true;
    st.client.end(true);
    if (st.open) this.conn.closed(link, failure);
    else this.conn.failed(link, failure);
  }
}

function parseArgs(argv) {
  const opts = { deviceId: 'tether-device-node', timeout: 60 };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--device-id') opts.deviceId = argv[++i];
    else if (argv[i] === '--timeout') opts.timeout = Number(argv[++i]);
    else pos.push(argv[i]);
  }
  if (pos.length < 1) {
    process.stderr.write('usage: node device.mjs HOST:PORT [COUNT] [INTERVAL_MS] [--device-id ID] [--timeout SECONDS]\n');
    process.exit(64);
  }
  return { broker: pos[0], count: Number(pos[1] ?? 20), intervalMs: Number(pos[2] ?? 200), ...opts };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const transport = new MqttTransport({ keepalive: 5 });
  const conn = new Connection(
    {
      hub: args.broker,
      'device-id': args.deviceId,
      policy: { kind: 'exponential', 'initial-ms': 250, 'max-ms': 2000, jitter: 'full' },
      queue: { capacity: Math.max(64, args.count), 'max-in-flight': 16 },
    },
    { transport },
  );
  transport.conn = conn;

  const accepted = new Set();
  let published = 0;
  let refused = 0;
  let delivered = 0;
  let failed = 0;
  let finished = false;
  let publishTimer;

  const finish = (timedOut) => {
    if (finished) return;
    finished = true;
    clearTimeout(publishTimer);
    clearTimeout(deadline);
    conn.stop();
    say(`summary published=${published} accepted=${accepted.size} delivered=${delivered} failed=${failed} refused=${refused}`);
    conn.close();
    process.exitCode = timedOut ? 2 : failed === 0 && refused === 0 ? 0 : 1;
  };
  const allKnown = () => published === args.count && delivered + failed === accepted.size;

  conn.on('status', (s) => say(`status ${s.status} ${s.reason}`));
  conn.on('decision', (d) => say(`decision ${formatDecision(d)}`));
  conn.on('outcome', (id, outcome) => {
    if (!accepted.has(id)) return; // stop() fails what is left: counted already
    if (outcome.tag === 'delivered') delivered += 1;
    else failed += 1;
    say(`outcome ${id} ${formatOutcome(outcome)}`);
    if (allKnown() && !finished) setImmediate(() => finish(false));
  });

  const deadline = setTimeout(() => {
    say(`timeout after ${args.timeout} s: stopping`);
    finish(true);
  }, args.timeout * 1000);

  const t0 = performance.now();
  const publishNext = () => {
    published += 1;
    const payload = JSON.stringify({ n: published, device: args.deviceId });
    try {
      const id = conn.publish(`devices/${args.deviceId}/messages/events`, payload);
      accepted.add(id);
      say(`published ${published} id=${id}`);
    } catch (err) {
      if (!(err instanceof PublishRefused)) throw err;
      refused += 1;
      say(`publish ${published} refused: ${err.reason}`);
    }
    if (published < args.count) {
      publishTimer = setTimeout(publishNext, Math.max(0, t0 + published * args.intervalMs - performance.now()));
    } else if (allKnown()) {
      finish(false);
    }
  };

  conn.start();
  publishNext();
}

main();
