// Costs of the Node host, per operation, through the real component.
//
//   node bindings/node/bench.mjs        (uses ./dist; `npm run build` makes it)
//
// Prints microseconds per operation (best of 3 runs). An op is one call from JS,
// including the value conversions and the delivery of the import calls it caused to
// no-op listeners. Not a test: nothing is asserted.

import { performance } from 'node:perf_hooks';
import { Connection, DIST, Failure, RetrySchedule, Runtime, VirtualClock, classify, tableVersion } from './index.js';

function bestOf(runs, n, op) {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) op(i);
    best = Math.min(best, (performance.now() - t) / n);
  }
  return best * 1e3;
}

const t0 = performance.now();
const runtime = await Runtime.load(DIST);
const config = { hub: 'hub-a', seed: 7, policy: { kind: 'exponential', 'initial-ms': 1000, 'max-ms': 60000 } };
const transport = { open() {}, send() {}, close() {} };
const make = (clock) => {
  const c = new Connection(config, { transport, clock: clock ?? new VirtualClock(), timers: false, runtime });
  for (const ev of ['status', 'decision', 'outcome', 'wake-at']) c.on(ev, () => {});
  return c;
};
make().close(); // compiles the core modules
const firstMs = performance.now() - t0;

// The stateless calls first: they are the cheapest and the most sensitive to what
// ran before (GC, inline caches).
const f87 = Failure.mqttReason(0x87);
const refused = Failure.network('refused');
const classifyUs = bestOf(3, 50000, () => classify(f87, { runtime }));
const versionUs = bestOf(3, 50000, () => tableVersion({ runtime }));
const schedule = new RetrySchedule({ kind: 'exponential' }, 7n, { runtime });
const nextUs = bestOf(3, 50000, () => schedule.next(refused));

// on-failed -> backoff decision: wake at the deadline (opens link k), then report
// link k refused. Only the on-failed call is timed.
const clock = new VirtualClock();
const conn = make(clock);
conn.start();
conn.failed(1n, refused);
let link = 1n;
const timings = [];
for (let i = 0; i < 5000; i++) {
  clock.setMs(conn.nextWake() / 1_000_000n);
  conn.wake();
  link += 1n;
  const t = performance.now();
  conn.failed(link, refused);
  timings.push(performance.now() - t);
}
timings.sort((a, b) => a - b);
const failedUs = timings[timings.length >> 1] * 1e3;

const conn2 = make();
conn2.start();
conn2.opened(1n);
const payload = new TextEncoder().encode('0123456789');
const publishUs = bestOf(3, 20000, () => conn2.acked(conn2.publish('t', payload)));
const instUs = bestOf(3, 30, () => make().close());

const row = (label, v, unit) => console.log(`${label.padEnd(48)}${v.toFixed(2).padStart(9)} ${unit}`);
console.log(`node ${process.version}, jco-transpiled component`);
row('load + compile + first instance:', firstMs, 'ms');
row('new Connection (instance + create):', instUs, 'us');
row('on-failed -> backoff decision (median):', failedUs, 'us/op');
row('classify (mqtt5 0x87):', classifyUs, 'us/op');
row('retry-schedule.next:', nextUs, 'us/op');
row('table-version (trivial call):', versionUs, 'us/op');
row('publish + on-acked (send, outcome):', publishUs, 'us/message');
