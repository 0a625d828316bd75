// world root:component/root
import type * as TetherReconnectCredentials from './interfaces/tether-reconnect-credentials.js'; // tether:reconnect/credentials@0.1.0
import type * as TetherReconnectEvents from './interfaces/tether-reconnect-events.js'; // tether:reconnect/events@0.1.0
import type * as TetherReconnectProvisioning from './interfaces/tether-reconnect-provisioning.js'; // tether:reconnect/provisioning@0.1.0
import type * as TetherReconnectTransport from './interfaces/tether-reconnect-transport.js'; // tether:reconnect/transport@0.1.0
import type * as TetherReconnectTypes from './interfaces/tether-reconnect-types.js'; // tether:reconnect/types@0.1.0
import type * as WasiClocksMonotonicClock from './interfaces/wasi-clocks-monotonic-clock.js'; // wasi:clocks/monotonic-clock@0.2.12
import type * as WasiRandomRandom from './interfaces/wasi-random-random.js'; // wasi:random/random@0.2.12
import type * as TetherReconnectDecisions from './interfaces/tether-reconnect-decisions.js'; // tether:reconnect/decisions@0.1.0
import type * as TetherReconnectConnection from './interfaces/tether-reconnect-connection.js'; // tether:reconnect/connection@0.1.0
export interface ImportObject {
  'tether:reconnect/credentials@0.1.0': typeof TetherReconnectCredentials,
  'tether:reconnect/events@0.1.0': typeof TetherReconnectEvents,
  'tether:reconnect/provisioning@0.1.0': typeof TetherReconnectProvisioning,
  'tether:reconnect/transport@0.1.0': typeof TetherReconnectTransport,
  'tether:reconnect/types@0.1.0': typeof TetherReconnectTypes,
  'wasi:clocks/monotonic-clock@0.2.12': typeof WasiClocksMonotonicClock,
  'wasi:random/random@0.2.12': typeof WasiRandomRandom,
}
export interface Root {
  'tether:reconnect/decisions@0.1.0': typeof TetherReconnectDecisions,
  decisions: typeof TetherReconnectDecisions,
  'tether:reconnect/connection@0.1.0': typeof TetherReconnectConnection,
  connection: typeof TetherReconnectConnection,
}

/**
* Instantiates this component with the provided imports and
* returns a map of all the exports of the component.
*
* This function is intended to be similar to the
* `WebAssembly.Instantiate` constructor. The second `imports`
* argument is the "import object" for wasm, except here it
* uses component-model-layer types instead of core wasm
* integers/numbers/etc.
*
* The first argument to this function, `getCoreModule`, is
* used to compile core wasm modules within the component.
* Components are composed of core wasm modules and this callback
* will be invoked per core wasm module. The caller of this
* function is responsible for reading the core wasm module
* identified by `path` and returning its compiled
* `WebAssembly.Module` object. This would use the
* `WebAssembly.Module` constructor on the web, for example.
*/
export function instantiate(
getCoreModule: (path: string) => WebAssembly.Module,
imports: ImportObject,
instantiateCore?: (module: WebAssembly.Module, imports: Record<string, any>) => WebAssembly.Instance
): Root;

