// Start-up probe: load the component, start one connection, print its first
// decision, exit. What `scripts/bench-startup` times for Node (README, "On a device").
//
//   node bindings/node/first-decision.mjs

import { Connection, formatDecision } from './connection.js';

const transport = { open() {}, send() {}, subscribe() {}, close() {} };
const conn = new Connection({ hub: '127.0.0.1:1883', 'device-id': 'startup-probe' }, { transport });
let first;
conn.on('decision', (d) => { first ??= d; });
conn.start();
process.stdout.write(`${first ? formatDecision(first) : 'no decision'}\n`);
process.exit(0);
