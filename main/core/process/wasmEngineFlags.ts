/**
 * V8 flags for the processes that run the wasm engines (LiteRT-LM's in the
 * bundle runner, LiteRT.js's in the stage scripts).
 *
 * V8 compiles every wasm function with its baseline compiler (Liftoff) and
 * re-compiles a function with the optimizing one (TurboFan) once it has run
 * "enough" (the tiering budget). At the default budget a 34 MiB engine
 * re-compiles thousands of functions that run a handful of times while a
 * bundle loads and its prompt is read: measured on a Qwen2.5-0.5B-shaped
 * int8 bundle (48 tokens, 2 cores), ~4–5 s of CPU spent compiling, prefill at
 * 18 tok/s instead of 66, and no faster decode (32 vs 34 tok/s); a short
 * behaviour check on a small model spends most of its CPU there. A budget
 * 100× larger still optimizes the kernels that decode runs millions of times
 * (decode speed unchanged) and leaves the run-once code on the baseline tier.
 * `--liftoff-only` would be cheaper still but decodes a third slower.
 */
export const WASM_ENGINE_NODE_FLAGS: readonly string[] = ['--wasm-tiering-budget=180000000'];
