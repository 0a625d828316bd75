/** @module Interface tether:reconnect/provisioning@0.1.0 **/
export function register(): void;
export function poll(operationId: string): void;
