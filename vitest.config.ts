import { defineConfig } from 'vitest/config';
import { WASM_ENGINE_NODE_FLAGS } from './main/core/process/wasmEngineFlags.js';
import LongestFirst from './test/sequencer.js';

// Unit tests sit next to the code they test (`*.test.ts`); integration and
// end-to-end tests live in `test/`. Everything runs in plain Node: the
// renderer is exercised through real Chromium in `test/e2e`, not jsdom.
export default defineConfig({
  test: {
    include: ['main/**/*.test.ts', 'renderer/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // Generous limits: a busy machine (npm run test:stress) slows tests, it must not fail them.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Two cores here and in CI. The suite is CPU-bound (engines, PyTorch, conversions): a third worker kept
    // both cores 99 % busy and made the whole run slower (1,118 s against 1,073 s), so two it is.
    maxWorkers: 2,
    // Tests run LiteRT.js in their workers too: the engines' V8 flags (main/core/process/wasmEngineFlags.ts).
    execArgv: [...WASM_ENGINE_NODE_FLAGS],
    reporters: ['default'],
    // Longest files first, from committed durations on a fresh clone (test/sequencer.ts).
    sequence: { sequencer: LongestFirst },
  },
});
