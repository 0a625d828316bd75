/** @module Interface tether:reconnect/credentials@0.1.0 **/
export function renew(): void;
