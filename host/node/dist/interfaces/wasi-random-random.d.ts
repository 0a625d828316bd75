/** @module Interface wasi:random/random@0.2.12 **/
export function getRandomU64(): bigint;
