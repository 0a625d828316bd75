/** @module Interface tether:reconnect/events@0.1.0 **/
export function statusChanged(change: StatusChange): void;
export function decided(decision: DecisionEvent): void;
export function messageOutcome(message: bigint, outcome: Outcome): void;
export function wakeAt(deadline: Instant): void;
export type StatusChange = import('./tether-reconnect-types.js').StatusChange;
export type DecisionEvent = import('./tether-reconnect-types.js').DecisionEvent;
export type Outcome = import('./tether-reconnect-types.js').Outcome;
export type Instant = import('./tether-reconnect-types.js').Instant;
