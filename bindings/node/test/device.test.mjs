// The Device, used badly: wrong types, undefined, payloads over the limit, calls
// after stop and after close, listeners that throw, aborted signals. Each gets a
// clear error (naming what is wrong) and never a crash, a hang or a lost outcome.
// The broker is a small MQTT server on mqtt-packet (CONNACK, PUBACK).
//
//   node --test bindings/node/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { format } from 'node:util';
import mqttPacket from 'mqtt-packet';
import { ConfigError, Device, PublishRefused, TetherError } from '../index.js';

async function broker() {
  const sockets = new Set();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const send = (p) => socket.write(mqttPacket.generate(p, { protocolVersion: 4 }));
    parser.on('packet', (p) => {
      if (p.cmd === 'connect') send({ cmd: 'connack', returnCode: 0 });
      else if (p.cmd === 'publish' && p.qos === 1) send({ cmd: 'puback', messageId: p.messageId });
      else if (p.cmd === 'pingreq') send({ cmd: 'pingresp' });
    });
    parser.on('error', () => socket.destroy()); // not MQTT (a TLS hello): hang up
    socket.on('data', (d) => parser.parse(d));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    hub: `127.0.0.1:${srv.address().port}`,
    close() { for (const s of sockets) s.destroy(); srv.close(); },
  };
}

const device = (hub, extra = {}) => new Device({ hub, deviceId: 'dev-1', topic: 't/dev-1', ...extra });

test('bad options name the option', () => {
  const field = (fn) => { try { fn(); } catch (err) { return `${err.constructor.name} ${err.field ?? err.message}`; } return 'no error'; };
  assert.equal(field(() => new Device('hub')), 'ConfigError options');
  assert.equal(field(() => new Device({ hub: 5 })), 'ConfigError hub');
  assert.equal(field(() => new Device({ hub: 'h', deviceId: '' })), 'ConfigError deviceId');
  assert.equal(field(() => new Device({ hub: 'h', bogus: 1 })), 'ConfigError options.bogus');
  assert.equal(field(() => new Device({ hub: 'h', mqtt: { nope: 1 } })), 'ConfigError mqtt.nope');
  assert.equal(field(() => new Device({ hub: 'h', renew: 'x' })), 'ConfigError renew');
  assert.equal(field(() => new Device({ hub: 'h', policy: { kind: 'nope' } })).split(' ')[0], 'ConfigError');
  assert.match(field(() => new Device({ hub: 'h', policy: { kind: 'nope' } })), /^ConfigError policy/);
  assert.match(field(() => new Device({ hub: 'h', mqtt: { version: 7 } })), /mqtt version must be 4/);
  assert.match(field(() => new Device({ hub: 'h', signal: {} })), /signal must be an AbortSignal/);
  assert.equal(field(() => Device.fromConnectionString(undefined)), 'ConfigError connectionString');
  assert.equal(field(() => Device.fromConnectionString('HostName=h;DeviceId=d;SharedAccessKey=a2V5LTE=', { hub: 'x' })), 'ConfigError hub');
  assert.equal(field(() => Device.fromConnectionString('HostName=h;DeviceId=d;SharedAccessKey=a2V5LTE=', { mqtt: { version: 5 } })), 'ConfigError mqtt.version');
});

test('a bad connection string names the key, never its secret', () => {
  const secret = 'c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3Qtc2hvdw==';
  for (const cs of [`DeviceId=d;SharedAccessKey=${secret}`, `HostName=h;SharedAccessKey=${secret}`, `HostName=h;DeviceId=d;SharedAccessKey=${secret};Bogus`]) {
    assert.throws(() => Device.fromConnectionString(cs), (err) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.ok(!err.message.includes(secret) && !err.message.includes('c2VjcmV0'), err.message);
      return true;
    });
  }
});

test('bad publish arguments reject with a TypeError; nothing is queued', async () => {
  const b = await broker();
  const d = device(b.hub).start();
  for (const bad of [undefined, null, 42, {}, [1, 2]]) {
    await assert.rejects(d.publish(bad), (err) => err instanceof TypeError && /payload must be/.test(err.message));
  }
  await assert.rejects(d.publish('x', { topic: 7 }), /topic must be a string/);
  await assert.rejects(new Device({ hub: b.hub }).publish('x'), /no default topic/);
  assert.equal(d.pendingMessages, 0);
  assert.deepEqual(await d.publish(new ArrayBuffer(3)), { tag: 'delivered' });
  await d.close();
  b.close();
});

test('a payload over the limit is refused by name; the next one goes', async () => {
  const b = await broker();
  const d = device(b.hub, { queue: { 'max-payload-bytes': 16 } }).start();
  await assert.rejects(d.publish('x'.repeat(17)), (err) => err instanceof PublishRefused && err.reason === 'payload-too-large');
  assert.deepEqual(await d.publish('x'.repeat(16)), { tag: 'delivered' });
  await d.close();
  b.close();
});

test('after stop: publish is refused as stopped; after close: a clear error; again: nothing', async () => {
  const b = await broker();
  const d = device(b.hub).start();
  await once(d, 'connected');
  await d.stop();
  await d.stop();
  await assert.rejects(d.publish('late'), (err) => err instanceof PublishRefused && err.reason === 'stopped');
  await d.close();
  await d.close();
  await assert.rejects(d.publish('later'), (err) => err instanceof TetherError && /publish: the device was closed/.test(err.message));
  assert.throws(() => d.start(), /start: the device was closed/);
  assert.throws(() => d.status, /status: the device was closed/);
  assert.equal(d.pendingMessages, 0);
  b.close();
});

test('messages queued before the link and at the stop all get an outcome', async () => {
  const b = await broker();
  const d = device(b.hub);
  const early = [d.publish('1'), d.publish('2')]; // before start: queued
  d.start();
  const outcomes = await Promise.all(early);
  assert.deepEqual(outcomes, [{ tag: 'delivered' }, { tag: 'delivered' }]);
  b.close(); // the link goes; these wait for the next one
  const stranded = [d.publish('3'), d.publish('4')];
  await d.close();
  for (const o of await Promise.all(stranded)) assert.ok(o.tag === 'delivered' || o.val === 'client-close', JSON.stringify(o));
});

test('listeners that throw are reported, and the loop goes on', async () => {
  const b = await broker();
  const d = device(b.hub);
  const errors = [];
  d.on('status', () => { throw new Error('status listener broke'); });
  d.on('outcome', () => { throw new Error('outcome listener broke'); });
  d.on('error', (err) => errors.push(err.message));
  d.start();
  const outcomes = await Promise.all([d.publish('a'), d.publish('b'), d.publish('c')]);
  assert.deepEqual(outcomes.map((o) => o.tag), ['delivered', 'delivered', 'delivered']);
  assert.ok(errors.includes("a 'status' listener threw: status listener broke"), errors.join('\n'));
  assert.equal(errors.filter((e) => e.includes('outcome listener broke')).length, 3);
  await d.close();
  b.close();
});

test('with no error listener, a throwing listener is a process warning, not a crash', async () => {
  const b = await broker();
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);
  process.on('warning', onWarning);
  const d = device(b.hub);
  d.on('connected', () => { throw new TypeError('connected listener broke'); });
  d.start();
  assert.deepEqual(await d.publish('x'), { tag: 'delivered' });
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.ok(warnings.some((w) => w.includes('connected listener broke')), warnings.join('\n'));
  await d.close();
  b.close();
});

test('AbortSignal: an aborted publish rejects with the reason and keeps its outcome; aborting the device stops it', async () => {
  const b = await broker();
  const ac = new AbortController();
  const d = device(b.hub, { signal: ac.signal });
  const outcomes = [];
  d.on('outcome', (id, o) => outcomes.push(o.tag));
  const pa = new AbortController();
  pa.abort(new Error('no longer wanted'));
  await assert.rejects(d.publish('x', { signal: pa.signal }), /no longer wanted/);
  const waiting = new AbortController();
  const p = d.publish('y', { signal: waiting.signal }); // queued: not started yet
  waiting.abort();
  await assert.rejects(p, (err) => err.name === 'AbortError');
  d.start();
  await once(d, 'outcome');
  assert.deepEqual(outcomes, ['delivered']);
  ac.abort();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(d.status.status, 'disabled');
  await assert.rejects(d.publish('z'), (err) => err.reason === 'stopped');
  await d.close();
  b.close();
});

test('renew() that throws or answers nonsense is a refused credential, not a crash', async () => {
  const d = new Device({ hub: '127.0.0.1:1', deviceId: 'dev-1', topic: 't', renew: () => { throw new Error('vault down'); } });
  const statuses = [];
  d.on('status', (s) => statuses.push(`${s.status} ${s.reason}`));
  d.start();
  const p = d.publish('x');
  while (!statuses.some((s) => s.startsWith('disconnected '))) await new Promise((r) => setTimeout(r, 20));
  assert.equal((await p).tag, 'failed');
  await d.close();
});

test('the debug log (namespace tether): statuses and decisions with their rule, never a secret', async () => {
  const { default: createDebug } = await import('debug');
  const lines = [];
  const before = createDebug.log;
  createDebug.log = (...args) => lines.push(format(...args));
  createDebug.enable('tether*');
  try {
    const b = await broker();
    const d = device(b.hub, { credential: 'hunter2-password', renew: () => 'hunter3-password' });
    d.start();
    assert.deepEqual(await d.publish('x'), { tag: 'delivered' });
    await d.close();
    b.close();
    // A hub device: the component mints a SAS token from the key; this plain
    // server hangs up on the TLS hello, and the device retries.
    const key = 'aHViLWtleS1uZXZlci1sb2dnZWQ=';
    const plain = await broker();
    const hub = Device.fromConnectionString(`HostName=127.0.0.1;DeviceId=dev-2;SharedAccessKey=${key}`,
      { mqtt: { port: Number(plain.hub.split(':')[1]), connectTimeoutMs: 500 } });
    hub.start();
    while (!lines.some((l) => l.includes('cause=net/'))) await new Promise((r) => setTimeout(r, 20));
    await hub.close();
    plain.close();
    const text = lines.join('\n');
    assert.match(text, /status connected connection-ok/);
    assert.match(text, /decision connect 1 127\.0\.0\.1:\d+ 0 cause=-/);
    assert.match(text, /decision backoff \d+ 1 normal reconnect cause=net\/reset/);
    assert.match(text, /link 1: failed network:reset \(mqtt\.js: ECONNRESET\)/);
    for (const secret of ['hunter2', 'hunter3', key, 'sig=', 'SharedAccessSignature']) {
      assert.ok(!text.includes(secret), `${secret} in the log:\n${text}`);
    }
  } finally {
    createDebug.disable();
    createDebug.log = before;
  }
});

test('TLS options that do not parse are a ConfigError naming mqtt.tls, not a crash on the first link', () => {
  assert.throws(() => new Device({ hub: 'h', mqtt: { tls: { ca: 'garbage', cert: 'nope' } } }),
    (err) => err instanceof ConfigError && err.field === 'mqtt.tls');
  assert.throws(() => new Device({ hub: 'h', mqtt: { tls: 'yes' } }), (err) => err.field === 'mqtt.tls');
});

test('a transport whose mqtt.connect throws fails that link; the device retries', async () => {
  const { MqttTransport, Connection } = await import('../index.js');
  let calls = 0;
  const t = new MqttTransport({ connect: () => { calls += 1; throw Object.assign(new Error('boom'), { code: 'ERR_BOOM' }); } });
  const conn = new Connection({ hub: '127.0.0.1:1', policy: { kind: 'fixed', 'interval-ms': 10 } }, { transport: t });
  t.attach(conn);
  const decisions = [];
  conn.on('decision', (d) => decisions.push(d.cause?.rule ?? '-'));
  conn.start();
  while (calls < 3) await new Promise((r) => setTimeout(r, 10));
  conn.stop();
  conn.close();
  assert.ok(decisions.includes('net/closed'), decisions.join(' '));
});
