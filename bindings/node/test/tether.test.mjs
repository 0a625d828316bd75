// Unit checks of the Node host library through the real component.
//
//   node --test bindings/node/test/      (after `npm run build` in bindings/node)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError, Connection, Failure, PublishRefused, RetrySchedule, VirtualClock, classify,
  formatDecision, formatFailure, formatOutcome, validateConfig,
} from '../index.js';

function recorder() {
  const log = [];
  const rec = {
    log,
    onOpen: undefined,
    open(link, hub) { log.push(`open ${link} ${hub}`); rec.onOpen?.(link); },
    send(link, message, topic, payload) { log.push(`send ${link} ${message} ${topic} ${payload.length}`); },
    close(link) { log.push(`close ${link}`); },
  };
  rec.clock = new VirtualClock();
  rec.connection = (config = { hub: 'hub-a', seed: 1, policy: { kind: 'fixed', 'interval-ms': 1000 } }) => {
    const conn = new Connection(config, { transport: rec, clock: rec.clock, timers: false });
    conn.on('status', (s) => log.push(`status ${s.status} ${s.reason}`));
    conn.on('decision', (d) => log.push(`decide ${formatDecision(d)}`));
    conn.on('outcome', (id, o) => log.push(`outcome ${id} ${formatOutcome(o)}`));
    conn.on('wake-at', (ns) => log.push(`wake-at ${ns / 1_000_000n}`));
    return conn;
  };
  return rec;
}

test('failures render as the CLI words and classify in the component', () => {
  assert.equal(formatFailure(Failure.mqttReason(0x87)), 'mqtt5:0x87');
  assert.equal(formatFailure(Failure.http(403, { hubCode: 403002 })), 'http:403:403002');
  assert.throws(() => Failure.network('bogus'), TypeError);
  const c = classify(Failure.http(403, { hubCode: 403002 }));
  assert.deepEqual(c, { level: 'protocol', verdict: 'retry-throttled', reason: 'quota-exceeded', rule: 'http/403002' });
});

test('a bad document names its field', () => {
  assert.throws(() => validateConfig({ hub: 'h', policy: { 'initial-ms': 'fast' } }),
    (e) => e instanceof ConfigError && e.field === 'policy.initial-ms');
  assert.throws(() => recorder().connection({ hub: 'h', bogus: 1 }), ConfigError);
});

test('retry schedule', () => {
  const s = new RetrySchedule({ kind: 'fixed', 'interval-ms': 500, 'max-attempts': 2 }, 1);
  assert.deepEqual([s.next(), s.next(), s.next()], [
    { tag: 'retry-after', val: 500n }, { tag: 'retry-after', val: 500n }, { tag: 'give-up', val: 'max-attempts' },
  ]);
  s.close();
});

test('imports are delivered after the component call, in order', () => {
  const rec = recorder();
  const conn = rec.connection();
  // A transport that fails at once calls back in from inside `open`: that works
  // only because the component call has returned.
  rec.onOpen = (link) => conn.failed(link, Failure.network('refused'));
  assert.equal(conn.start(), undefined);
  assert.deepEqual(rec.log, [
    'decide connect 1 hub-a 0 cause=-',
    'open 1 hub-a',
    'status disconnected-retrying communication-error',
    'decide backoff 1000 1 normal reconnect cause=net/refused',
    'wake-at 1000',
  ]);
});

test('messages, outcomes and input errors', async () => {
  const rec = recorder();
  const conn = rec.connection();
  conn.start();
  assert.equal(typeof conn.opened(7), 'string'); // no such link
  assert.equal(conn.opened(1), undefined);
  const id = conn.publish('t', 'hi');
  assert.equal(typeof id, 'bigint');
  const outcome = conn.waitForOutcome(id);
  assert.equal(conn.acked(id), undefined);
  assert.deepEqual(await outcome, { tag: 'delivered' });
  assert.equal(conn.acked(id), 'unknown-message');
  assert.throws(() => conn.publish('', 'x'), (e) => e instanceof PublishRefused && e.reason === 'empty-topic');
  conn.stop();
  assert.deepEqual(rec.log.slice(-4), [`send 1 ${id} t 2`, `outcome ${id} delivered`, 'close 1', 'status disabled client-close']);
  assert.equal(conn.status().status, 'disabled');
  conn.close();
});

test('a custom policy falls back here and is quarantined', () => {
  // This host runs no plugins: every decision is `unavailable`, the fallback
  // decides, and the third fault quarantines the plugin.
  const rec = recorder();
  const conn = rec.connection({
    hub: 'hub-a', seed: 1,
    policy: { kind: 'custom', plugin: 'policy.wasm', fallback: { kind: 'fixed', 'interval-ms': 1000 } },
  });
  const faults = [];
  conn.on('plugin-fault', (f) => faults.push(f));
  rec.onOpen = (link) => conn.failed(link, Failure.network('refused'));
  conn.start();
  for (let i = 0; i < 3; i++) {
    rec.clock.advanceMs(1000);
    conn.wake();
  }
  assert.deepEqual(faults.map((f) => [f.reason, f.consecutive, f.quarantined]), [
    ['unavailable', 1, false], ['unavailable', 2, false], ['unavailable', 3, true],
  ]);
  assert.deepEqual(faults[0].used, { tag: 'retry-after', val: 1000n });
  assert.ok(rec.log.includes('decide backoff 1000 4 normal reconnect cause=net/refused'), rec.log.join('\n'));
});

test('connections sharing the instance each get their own imports, clock and entropy', () => {
  // Both live in one component instance; each call's imports reach the
  // connection that made it, at that connection's time.
  const a = recorder();
  const b = recorder();
  b.clock.advanceMs(5_000);
  const ca = a.connection();
  const cb = b.connection({ hub: 'hub-b', seed: 2, policy: { kind: 'fixed', 'interval-ms': 3000 } });
  ca.start();
  cb.start();
  assert.deepEqual(a.log, ['decide connect 1 hub-a 0 cause=-', 'open 1 hub-a']);
  assert.deepEqual(b.log, ['decide connect 1 hub-b 0 cause=-', 'open 1 hub-b']);
  a.log.length = 0;
  b.log.length = 0;
  ca.failed(1, Failure.network('refused'));
  assert.equal(b.log.length, 0, 'nothing reaches the other connection');
  assert.ok(a.log.includes('wake-at 1000'), a.log.join('\n'));
  cb.failed(1, Failure.network('refused'));
  assert.ok(b.log.includes('wake-at 8000'), b.log.join('\n'));
  // Closing one leaves the other working.
  ca.close();
  assert.throws(() => ca.start(), /closed/);
  b.log.length = 0;
  b.clock.advanceMs(3_000);
  cb.wake();
  assert.ok(b.log.includes('open 2 hub-b'), b.log.join('\n'));
  assert.equal(a.log.filter((l) => l.includes('open 2')).length, 0);
  cb.close();
});
