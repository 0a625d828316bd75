// The mqtt.js transport: each client error of the README's table, fed for real
// (a socket that refuses, resets, stays silent; a server speaking MQTT with
// mqtt-packet, the codec mqtt.js itself uses) or, for what loopback cannot produce
// (an unreachable network), as the error object Node gives.
//
//   node --test bindings/node/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { MqttTransport, classify, disconnectFailure, failureOf, formatFailure, splitAddress } from '../index.js';

const fmt = (f) => formatFailure(f) + (f.serverReference ? ` ref=${f.serverReference}` : '');

/** A connection stand-in that records what the transport reports. */
function reports() {
  const log = [];
  let wake;
  const next = () => new Promise((resolve) => { wake = resolve; });
  let pending = next();
  const push = (line) => { log.push(line); const w = wake; pending = next(); w(line); };
  return {
    log,
    next: () => (log.length ? Promise.resolve(log[log.length - 1]) : pending),
    /** Wait for a report matching `re`. */
    async until(re) {
      for (;;) {
        const hit = log.find((l) => re.test(l));
        if (hit) return hit;
        await pending;
      }
    },
    opened: (link) => push(`opened ${link}`),
    failed: (link, f) => push(`failed ${link} ${fmt(f)}`),
    closed: (link, f) => push(`closed ${link} ${fmt(f)}`),
    acked: (m) => push(`acked ${m}`),
    refused: (m, f) => push(`refused ${m} ${fmt(f)}`),
  };
}

/** A TCP server; `onSocket(socket, packets)` gets each connection and its parsed MQTT packets. */
async function server(onSocket, { version = 4, raw = false } = {}) {
  const sockets = new Set();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (raw) return onSocket(socket);
    const parser = mqttPacket.parser({ protocolVersion: version });
    const packets = [];
    parser.on('packet', (p) => { packets.push(p); socket.emit('mqtt', p); });
    parser.on('error', () => socket.destroy());
    socket.on('data', (d) => parser.parse(d));
    socket.send = (packet) => socket.write(mqttPacket.generate(packet, { protocolVersion: version }));
    onSocket(socket, packets);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    port: srv.address().port,
    address: `127.0.0.1:${srv.address().port}`,
    async close() { for (const s of sockets) s.destroy(); srv.close(); },
  };
}

/** Answer CONNECT with `connack`, then hand each later packet to `onPacket`. */
const broker = (connack, onPacket = () => {}) => (socket) => socket.on('mqtt', (p) => {
  if (p.cmd === 'connect') socket.send({ cmd: 'connack', ...connack });
  else if (p.cmd === 'pingreq' && connack.pong !== false) socket.send({ cmd: 'pingresp' });
  else onPacket(socket, p);
});

async function link(address, options = {}) {
  const conn = reports();
  const t = new MqttTransport({ connectTimeoutMs: 2000, ...options });
  t.attach(conn);
  t.open(1n, address, 'dev-1', undefined);
  return { t, conn };
}

test('the table: each client error and what it becomes', () => {
  const rows = [
    [{ code: 'ECONNREFUSED' }, 4, 'net:refused'],
    [{ code: 'ECONNRESET' }, 4, 'net:reset'],
    [{ code: 'EPIPE' }, 4, 'net:reset'],
    [{ code: 'ECONNABORTED' }, 4, 'net:reset'],
    [{ code: 'ETIMEDOUT' }, 4, 'net:timeout'],
    [{ code: 'ENOTFOUND' }, 4, 'net:dns'],
    [{ code: 'EAI_AGAIN' }, 4, 'net:dns'],
    [{ code: 'ENETUNREACH' }, 4, 'net:unreachable'],
    [{ code: 'EHOSTUNREACH' }, 4, 'net:unreachable'],
    [{ code: 'ENETDOWN' }, 4, 'net:unreachable'],
    [{ code: 'EADDRNOTAVAIL' }, 4, 'net:unreachable'],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 4, 'net:tls'],
    [{ code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 4, 'net:tls'],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 4, 'net:tls'],
    [{ code: 'CERT_HAS_EXPIRED' }, 4, 'net:tls'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 4, 'net:tls'],
    [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER', library: 'SSL routines' }, 4, 'net:tls'],
    [{ code: 'EPROTO' }, 4, 'net:tls'],
    [{ code: 'EWHATEVER' }, 4, 'net:closed'],
    [{ code: 5 }, 4, 'mqtt311:5'],
    [{ code: 1 }, 4, 'mqtt311:1'],
    [{ code: 0x87 }, 4, 'net:closed'],
    [{ code: 0x87 }, 5, 'mqtt5:0x87'],
    [{ code: 0x9c }, 5, 'mqtt5:0x9C'],
    [{ code: 5 }, 5, 'net:closed'],
    [new Error('Invalid header flag bits'), 4, 'net:closed'],
    [new Error('Invalid header flag bits'), 5, 'mqtt5:0x82'],
  ];
  for (const [err, version, want] of rows) {
    assert.equal(formatFailure(failureOf(err, { version })), want, `${JSON.stringify(err)} on MQTT ${version}`);
  }
  const f = failureOf({ code: 0x9d }, { version: 5, serverReference: 'hub-b:8883' });
  assert.equal(f.serverReference, 'hub-b:8883');
  assert.equal(fmt(disconnectFailure({ reasonCode: 0x8b, properties: { serverReference: 'x' } })), 'mqtt5:0x8B ref=x');
  assert.equal(fmt(disconnectFailure({ reasonCode: 0 })), 'net:closed');
  // Every failure the adapter makes is one the component classifies.
  for (const [err, version] of rows) assert.ok(classify(failureOf(err, { version })).rule);
});

test('addresses: a hub without a port gets the default port; nonsense is refused', () => {
  assert.deepEqual(splitAddress('hub.example', 8883), { host: 'hub.example', port: 8883 });
  assert.deepEqual(splitAddress('127.0.0.1:1883', 8883), { host: '127.0.0.1', port: 1883 });
  assert.deepEqual(splitAddress('[::1]:99', 1), { host: '::1', port: 99 });
  assert.deepEqual(splitAddress('[::1]', 7), { host: '::1', port: 7 });
  for (const bad of ['', 'hub:0', 'hub:99999', 'hub:x', 'mqtt://hub:1', 'a b', '::1', undefined, 7]) {
    assert.equal(splitAddress(bad, 1883), undefined, String(bad));
  }
});

test('refused: nobody listens', async () => {
  const s = await server(() => {});
  await s.close();
  const { conn } = await link(s.address);
  assert.equal(await conn.next(), 'failed 1 net:refused');
});

test('reset before the CONNACK, closed after it', async () => {
  const s = await server((socket) => socket.resetAndDestroy());
  const { conn } = await link(s.address);
  assert.equal(await conn.next(), 'failed 1 net:reset');
  await s.close();
  const s2 = await server(broker({ returnCode: 0 }, () => {}));
  const { conn: c2 } = await link(s2.address);
  assert.equal(await c2.next(), 'opened 1');
  await s2.close(); // destroys the socket: a FIN
  assert.equal(await c2.until(/closed/), 'closed 1 net:closed');
});

test('a CONNACK that never comes is a timeout', async () => {
  const s = await server(() => {});
  const { conn } = await link(s.address, { connectTimeoutMs: 300 });
  assert.equal(await conn.next(), 'failed 1 net:timeout');
  await s.close();
});

test('DNS: a name that does not resolve', async () => {
  const { conn } = await link('tether-test.invalid:1883');
  assert.equal(await conn.next(), 'failed 1 net:dns');
});

test('TLS: a server that does not speak it', async () => {
  const s = await server((socket) => socket.on('data', () => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n')), { raw: true });
  const { conn } = await link(s.address, { tls: {} });
  try {
    assert.equal(await conn.next(), 'failed 1 net:tls');
  } finally {
    await s.close();
  }
});

test('CONNACK refusals: 3.1.1 return codes, MQTT 5 reason codes with a server reference', async () => {
  const s4 = await server(broker({ returnCode: 5 }));
  const { conn: c4 } = await link(s4.address);
  assert.equal(await c4.next(), 'failed 1 mqtt311:5');
  await s4.close();
  const s5 = await server(broker({ reasonCode: 0x9c, properties: { serverReference: 'hub-b:8883' } }), { version: 5 });
  const { conn: c5 } = await link(s5.address, { version: 5 });
  assert.equal(await c5.next(), 'failed 1 mqtt5:0x9C ref=hub-b:8883');
  await s5.close();
  const s6 = await server(broker({ reasonCode: 0x87 }), { version: 5 });
  const { conn: c6 } = await link(s6.address, { version: 5 });
  assert.equal(await c6.next(), 'failed 1 mqtt5:0x87');
  await s6.close();
});

test('MQTT 5: a server DISCONNECT keeps its reason and server reference', async () => {
  let sock;
  const s = await server((socket) => { sock = socket; broker({ reasonCode: 0 })(socket); }, { version: 5 });
  const { conn } = await link(s.address, { version: 5 });
  assert.equal(await conn.next(), 'opened 1');
  sock.send({ cmd: 'disconnect', reasonCode: 0x9d, properties: { serverReference: 'hub-c' } });
  sock.end();
  assert.equal(await conn.until(/closed/), 'closed 1 mqtt5:0x9D ref=hub-c');
  await s.close();
});

test('keep-alive loss: no PINGRESP', async () => {
  const s = await server(broker({ returnCode: 0, pong: false }));
  const { conn } = await link(s.address, { keepaliveS: 1 });
  assert.equal(await conn.next(), 'opened 1');
  assert.equal(await conn.until(/closed/), 'closed 1 keep-alive-lost');
  await s.close();
});

test('PUBACKs come back as message ids, in the order the server sends them; a refusal as refused', async () => {
  const held = [];
  const s = await server(broker({ reasonCode: 0 }, (socket, p) => {
    if (p.cmd !== 'publish') return;
    held.push(p);
    if (held.length < 3) return;
    // Answer the third first, refuse the second (MQTT 5 reason 0x87), then the first.
    socket.send({ cmd: 'puback', messageId: held[2].messageId, reasonCode: 0 });
    socket.send({ cmd: 'puback', messageId: held[1].messageId, reasonCode: 0x87 });
    socket.send({ cmd: 'puback', messageId: held[0].messageId, reasonCode: 0 });
  }), { version: 5 });
  const { t, conn } = await link(s.address, { version: 5 });
  assert.equal(await conn.next(), 'opened 1');
  t.send(1n, 101n, 't', new Uint8Array([1]));
  t.send(1n, 102n, 't', new Uint8Array([2]));
  t.send(1n, 103n, 't', new Uint8Array([3]));
  await conn.until(/acked 101/);
  assert.deepEqual(conn.log, ['opened 1', 'acked 103', 'refused 102 mqtt5:0x87', 'acked 101']);
  t.close(1n);
  await s.close();
});

test('one client per link, its own reconnecting off; a closed link reports nothing more', async () => {
  const seen = [];
  const s = await server(broker({ returnCode: 0 }));
  const conn = reports();
  const t = new MqttTransport({
    connect: (o) => { seen.push(o); return mqtt.connect(o); },
  });
  t.attach(conn);
  t.open(1n, s.address, 'dev-1', 'secret-token');
  t.open(2n, `127.0.0.1:${s.port}`, 'dev-1', undefined);
  await conn.until(/opened 2/);
  await conn.until(/opened 1/);
  assert.equal(seen.length, 2);
  for (const o of seen) assert.equal(o.reconnectPeriod, 0);
  assert.equal(seen[0].password, 'secret-token');
  assert.equal(seen[0].username, 'dev-1');
  t.close(1n);
  t.close(2n);
  await s.close();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(conn.log.filter((l) => l.startsWith('closed') || l.startsWith('failed')), []);
  assert.equal(t.links, 0);
});

test('a hub without a port goes to the default port; an address that is none is bad-endpoint', async () => {
  const s = await server(broker({ returnCode: 0 }));
  const { t, conn } = await link('127.0.0.1', { port: s.port });
  assert.equal(await conn.next(), 'opened 1');
  t.close(1n);
  await s.close();
  const { conn: c2 } = await link('mqtt://127.0.0.1:1');
  assert.equal(await c2.next(), 'failed 1 app:bad-endpoint');
});
