// The DPS client: what each REST answer becomes for the component, a refused
// socket, a bad operation id, and the key never shown.
//
//   node --test bindings/node/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { inspect } from 'node:util';
import { DpsClient, dpsAnswer, formatFailure } from '../index.js';

test('an assignment, a pending operation and refusals become the contract answers', () => {
  assert.deepEqual(
    dpsAnswer(200, { status: 'assigned', registrationState: { assignedHub: 'hub-b.local', deviceId: 'd1' } }, undefined),
    { assigned: { hub: 'hub-b.local', deviceId: 'd1' } },
  );
  assert.deepEqual(dpsAnswer(202, { operationId: 'op-1', status: 'assigning' }, 3000), { pending: { operationId: 'op-1', retryAfterMs: 3000 } });
  const throttled = dpsAnswer(429, { errorCode: 429001, trackingId: 't-9' }, 5000).failed;
  assert.equal(formatFailure(throttled), 'http:429:429001');
  assert.equal(throttled.retryAfterMs, 5000n);
  assert.equal(throttled.serverReference, 't-9');
  // A failed registration carries its six-digit code; its status is the code's first three digits.
  assert.equal(formatFailure(dpsAnswer(200, { status: 'failed', registrationState: { errorCode: 404201 } }).failed), 'http:404:404201');
  assert.deepEqual(dpsAnswer(200, { status: 'disabled', registrationState: {} }).failed.kind, { tag: 'application', val: 'device-disabled' });
  // An assignment without a hub is the service's fault, not an assignment.
  assert.equal(formatFailure(dpsAnswer(200, { status: 'assigned', registrationState: {} }).failed), 'http:500');
  assert.equal(formatFailure(dpsAnswer(401, {}).failed), 'http:401');
});

test('a refused socket is net:refused, a bad operation id is refused before any request', async () => {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r)); // nothing listens there now
  const key = 'c2VjcmV0LWRwcy1rZXktbmV2ZXItc2hvd24=';
  const client = new DpsClient({ endpoint: `https://127.0.0.1:${port}`, idScope: '0ne00TST', registrationId: 'dev-1', key });
  const answers = [];
  const got = new Promise((resolve) => { client.answer = (a) => { answers.push(a); if (answers.length === 2) resolve(); }; });
  client.register();
  client.poll('../../admin');
  await got;
  const words = answers.map((a) => formatFailure(a.failed)).sort();
  assert.deepEqual(words, ['app:bad-endpoint', 'net:refused']);
  assert.ok(!inspect(client).includes(key) && !String(client).includes(key), 'the key is never shown');
});

test('an endpoint that is not https is refused at construction', () => {
  assert.throws(() => new DpsClient({ endpoint: 'http://127.0.0.1:1', idScope: 's', registrationId: 'r', key: 'a2V5' }), /https/);
});
