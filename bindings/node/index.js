// tether for Node: the component behind a Connection (connection.js), its transport
// on mqtt.js 5 (transport.js) and a Device that runs the loop (device.js).

export * from './connection.js';
export * from './transport.js';
export * from './device.js';
export { DpsClient, dpsAnswer } from './dps.js';
