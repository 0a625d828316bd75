// index.d.ts against what index.js really exports: every export declared, every
// declaration exported (tsc checks the declarations' use in tests/node_client.rs).
//
//   node --test bindings/node/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tether from '../index.js';

test('index.d.ts declares exactly the values index.js exports', () => {
  const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8');
  const declared = new Set(
    [...dts.matchAll(/^export (?:declare )?(?:const|function|class) (\w+)/gm)].map((m) => m[1]),
  );
  const exported = new Set(Object.keys(tether));
  assert.deepEqual([...exported].filter((n) => !declared.has(n)).sort(), [], 'exported but not declared');
  assert.deepEqual([...declared].filter((n) => !exported.has(n)).sort(), [], 'declared but not exported');
});
