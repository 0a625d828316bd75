/** @module Interface wasi:clocks/monotonic-clock@0.2.12 **/
export function now(): Instant;
export type Instant = bigint;
