// A telemetry device: COUNT numbered QoS 1 messages, tether deciding every reconnect.
//   node device.mjs HOST:PORT [COUNT] [INTERVAL_MS]      (DEBUG=tether* shows why)
import { setTimeout as sleep } from 'node:timers/promises';
import { Device } from 'tether-device';

const [hub, count = 20, intervalMs = 200] = process.argv.slice(2);
const device = new Device({ hub, deviceId: 'sensor-1', topic: 'devices/sensor-1/messages/events',
  policy: { kind: 'exponential', 'initial-ms': 250, 'max-ms': 2000, jitter: 'full' } });
device.on('status', (s) => console.log(`status ${s.status} ${s.reason}`)).start();
const sent = [];
for (let n = 1; n <= Number(count); n += 1, await sleep(Number(intervalMs))) {
  sent.push(device.publish(String(n)).then((o) => (console.log(`outcome ${n} ${o.tag} ${o.val ?? ''}`), o.tag),
    (err) => (console.log(`publish ${n} refused: ${err.reason ?? err.message}`), 'refused')));
}
const tags = await Promise.all(sent);
const n = (tag) => tags.filter((t) => t === tag).length;
console.log(`summary published=${count} accepted=${count - n('refused')} delivered=${n('delivered')} failed=${n('failed')} refused=${n('refused')}`);
await device.close();
process.exitCode = n('delivered') === Number(count) ? 0 : 1;
