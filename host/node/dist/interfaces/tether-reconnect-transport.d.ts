/** @module Interface tether:reconnect/transport@0.1.0 **/
export function open(link: bigint, hub: string, deviceId: string | undefined, credential: string | undefined): void;
export function send(link: bigint, message: bigint, topic: string, payload: Uint8Array): void;
export function close(link: bigint): void;
