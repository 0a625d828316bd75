// The Node fault-matrix device, typed against the installed package's index.d.ts:
// `tsc` compiles it in the fresh install folder (tests/node_client.rs), then node
// runs it there. It publishes a numbered QoS 1 stream ("1", "2", ...) until a line
// `stop` on stdin, then stops gracefully and prints a summary. Each line on stdout is
// `<ms since start> <event ...>`.
//
//   node stream_device.mjs '{"hub":"127.0.0.1:1883","deviceId":"d","topic":"t", ...}'

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Device, PublishRefused, formatDecision, type DeviceOptions, type Outcome } from 'tether-device';

interface Args {
  hub?: string;
  connectionString?: string;
  /** DPS: the endpoint's CA is read from `caFile` of its own. */
  dps?: { idScope: string; registrationId: string; endpoint: string; groupKey: string; caFile: string };
  deviceId?: string;
  topic: string;
  version?: 4 | 5;
  user?: string;
  /** The password is read from this file at start and at every renewal. */
  passwordFile?: string;
  caFile?: string;
  /** A client certificate and its key (PEM files): an X.509 device. */
  certFile?: string;
  keyFile?: string;
  port?: number;
  intervalMs?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const t0 = performance.now();
const say = (text: string): void => { process.stdout.write(`${Math.round(performance.now() - t0)} ${text}\n`); };
const password = (): string => readFileSync(args.passwordFile ?? '', 'utf8').trim();

const mqtt: NonNullable<DeviceOptions['mqtt']> = {
  keepaliveS: 5,
  connectTimeoutMs: 3000,
  ...(args.caFile ? {
    tls: {
      ca: readFileSync(args.caFile, 'utf8'),
      ...(args.certFile ? { cert: readFileSync(args.certFile, 'utf8') } : {}),
      ...(args.keyFile ? { key: readFileSync(args.keyFile, 'utf8') } : {}),
    },
  } : {}),
  ...(args.port ? { port: args.port } : {}),
};
const common = {
  topic: args.topic,
  policy: { kind: 'exponential', 'initial-ms': 100, multiplier: 2, 'max-ms': 500, 'reset-after-ms': 5000 },
  queue: { capacity: 1000, 'max-in-flight': 16 },
  connection: { seed: 7 },
};
const device: Device = args.dps
  ? Device.fromDps({
    idScope: args.dps.idScope,
    registrationId: args.dps.registrationId,
    endpoint: args.dps.endpoint,
    groupKey: args.dps.groupKey,
    ca: readFileSync(args.dps.caFile, 'utf8'),
  }, { ...common, mqtt })
  : args.connectionString
  ? Device.fromConnectionString(args.connectionString, { ...common, mqtt })
  : new Device({
    ...common,
    hub: args.hub,
    deviceId: args.deviceId,
    mqtt: { ...mqtt, version: args.version ?? 4, ...(args.user ? { username: args.user } : {}) },
    ...(args.passwordFile ? { credential: password(), renew: () => password() } : {}),
  });

device.on('status', (s) => say(`status ${s.status} ${s.reason}`));
device.on('decision', (d) => say(`decision ${formatDecision(d)}`));

let n = 0;
let stopping = false;
const outcomes: Promise<void>[] = [];
const counts = { accepted: 0, delivered: 0, failed: 0, refused: 0 };

function publishNext(): void {
  if (stopping) return;
  n += 1;
  const seq = n;
  const outcome: Promise<Outcome> = device.publish(String(seq));
  counts.accepted += 1; // undone below when refused
  say(`accepted ${seq}`);
  outcomes.push(outcome.then(
    (o) => {
      if (o.tag === 'delivered') counts.delivered += 1;
      else counts.failed += 1;
      say(o.tag === 'delivered' ? `outcome ${seq} delivered` : `outcome ${seq} failed ${o.val}`);
    },
    (err: unknown) => {
      counts.accepted -= 1;
      counts.refused += 1;
      say(`refused ${seq} ${err instanceof PublishRefused ? err.reason : String(err)}`);
    },
  ));
  setTimeout(publishNext, args.intervalMs ?? 200);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stop' || stopping) return;
  stopping = true;
  say('stopping');
  void (async () => {
    await device.close(); // graceful: DISCONNECT, every publish gets its outcome
    await Promise.all(outcomes);
    say(`summary published=${n} accepted=${counts.accepted} delivered=${counts.delivered} failed=${counts.failed} refused=${counts.refused}`);
    process.exit(0);
  })();
});

device.start();
publishNext();
