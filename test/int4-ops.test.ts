/**
 * Blockwise int4 at the smallest scale: one FULLY_CONNECTED and one
 * EMBEDDING_LOOKUP over INT4 weights with a FLOAT16 block-scale tensor, as
 * the native converter writes them (tfliteWriter + blockwise.ts), read back
 * field by field against what ai-edge-quantizer writes, and run in LiteRT.js
 * (`@litertjs/core` 2.5.3, XNNPACK in wasm) against an emulation computed
 * here: the embedding rows must be q · scale exactly, the fully connected
 * output the per-row asymmetric int8 activations (XNNPACK's qd8) times the
 * dequantized int4 weights. This is the fast answer to "does the runtime run
 * blockwise int4": a converter-level check is test/native-convert.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ByteBuffer } from 'flatbuffers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TfliteModelRunner, type FeedValue } from '../main/core/litertjs/litertjs.js';
import { quantizeRowsInt4Blockwise } from '../main/core/nativeConvert/blockwise.js';
import { f16ToF32 } from '../main/core/safetensors/dtypes.js';
import { BlockwiseQuantization, Model, QuantizationDetails, TensorType } from '../main/core/tfliteWriter/generated/tflite_schema.js';
import { ModelGraph } from '../main/core/tfliteWriter/graph.js';
import { writeModel } from '../main/core/tfliteWriter/writeModel.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'int4-ops-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f = Math.fround;
function wave(n: number, seed: number, amplitude: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(Math.sin(i * 12.9898 + seed) * amplitude * (i % 11 === 0 ? 3 : 1)));
}

/** Quantized weights and their dequantized values, unpacked here (low nibble = even element). */
function int4Weights(rows: number, cols: number, blockSize: number) {
  const w = wave(rows * cols, 1, 0.4);
  const packed = new Uint8Array((rows * cols) / 2);
  const scales = new Uint16Array((rows * cols) / blockSize);
  quantizeRowsInt4Blockwise(w, cols, blockSize, packed, scales, 0, 'w', 0);
  const dequantized = Float64Array.from({ length: rows * cols }, (_, i) => {
    const nibble = i % 2 === 0 ? packed[i >> 1]! & 0x0f : packed[i >> 1]! >> 4;
    return (nibble >= 8 ? nibble - 16 : nibble) * f16ToF32(scales[Math.floor(i / blockSize)]!);
  });
  return { packed, scales, dequantized };
}

/** XNNPACK's per-row asymmetric int8 activation quantization (xnn_f32_qd8), float32 arithmetic; dequantized. */
function qd8(x: Float32Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const min = Math.min(0, ...row);
    const max = Math.max(0, ...row);
    const scale = min === max ? 1 : f(255 / f(max - min));
    const low = f(min * scale);
    const high = f(max * scale);
    const zero = Math.round(Math.min(127, Math.max(-128, f(f(-128 + low) + f(127 + high)) > 0 ? f(-128 - low) : f(127 - high))));
    const inverse = f(1 / scale);
    row.forEach((v, c) => {
      const q = Math.min(127, Math.max(-128, f(f(v * scale) + zero) + 6755399441055744 - 6755399441055744));
      out[r * cols + c] = f((q - zero) * inverse);
    });
  }
  return out;
}

async function build(kind: 'fc' | 'embedding', rows: number, cols: number, blockSize: number) {
  const { packed, scales, dequantized } = int4Weights(rows, cols, blockSize);
  const graph = new ModelGraph('int4 one-op');
  const g = graph.subgraph('main');
  const scalesTensor = g.constant('w_scales', 'float16', [rows, cols / blockSize], graph.inlineBuffer(new Uint8Array(scales.buffer)));
  const weights = g.constant('w', 'int4', [rows, cols], graph.inlineBuffer(packed), { kind: 'blockwise', scales: scalesTensor, blockSize });
  if (kind === 'fc') {
    const x = g.input('x', 'float32', [3, cols]);
    g.output('y', g.op({ kind: 'FULLY_CONNECTED', keepNumDims: false, asymmetricQuantizeInputs: false }, [x, weights, -1], { name: 'y', shape: [3, rows] }));
  } else {
    const ids = g.input('ids', 'int32', [4]);
    g.output('y', g.op({ kind: 'EMBEDDING_LOOKUP' }, [ids, weights], { name: 'y', shape: [4, cols] }));
  }
  const file = path.join(dir, `${kind}-${blockSize}.tflite`);
  await writeModel(graph, file);
  return { file, dequantized };
}

async function run(file: string, feeds: Record<string, FeedValue>): Promise<Float32Array> {
  const runner = await TfliteModelRunner.open(new Uint8Array(await readFile(file)));
  try {
    return (await runner.run('main', feeds)).y as Float32Array;
  } finally {
    runner.close();
  }
}

describe('blockwise int4 in LiteRT.js', () => {
  test('the file says what ai-edge-quantizer writes: INT4 weights, BlockwiseQuantization pointing at a FLOAT16 <name>_scales tensor', async () => {
    const { file } = await build('fc', 8, 64, 32);
    const model = Model.getRootAsModel(new ByteBuffer(new Uint8Array(await readFile(file))));
    const subgraph = model.subgraphs(0)!;
    const tensors = Array.from({ length: subgraph.tensorsLength() }, (_, i) => subgraph.tensors(i)!);
    const weights = tensors.find((t) => t.name() === 'w')!;
    expect(weights.type()).toBe(TensorType.INT4);
    expect(Array.from(weights.shapeArray()!)).toEqual([8, 64]);
    const q = weights.quantization()!;
    expect(q.detailsType()).toBe(QuantizationDetails.BlockwiseQuantization);
    expect(q.scaleLength()).toBe(0);
    expect(q.zeroPointLength()).toBe(0);
    expect(q.quantizedDimension()).toBe(0);
    const details = q.details(new BlockwiseQuantization()) as BlockwiseQuantization;
    expect(details.blockSize()).toBe(32);
    expect(details.zeroPoints()).toBe(-1);
    const scales = subgraph.tensors(details.scales())!;
    expect(scales.name()).toBe('w_scales');
    expect(scales.type()).toBe(TensorType.FLOAT16);
    expect(Array.from(scales.shapeArray()!)).toEqual([8, 2]);
    expect(Number(model.buffers(weights.buffer())!.size())).toBe(8 * 64 / 2);
  });

  test('EMBEDDING_LOOKUP returns q · scale exactly (builtin blockwise path)', async () => {
    const { file, dequantized } = await build('embedding', 16, 64, 32);
    const ids = Int32Array.from([5, 0, 15, 5]);
    const y = await run(file, { ids: { type: 'int32', data: ids, shape: [4] } });
    const expected = Array.from(ids).flatMap((id) => Array.from(dequantized.subarray(id * 64, id * 64 + 64)));
    expect(Array.from(y)).toEqual(expected);
  }, 60_000);

  test.each([32, 128])('FULLY_CONNECTED with block %i equals qd8 activations × dequantized int4 weights', async (blockSize) => {
    const rows = 8;
    const cols = 256;
    const { file, dequantized } = await build('fc', rows, cols, blockSize);
    const x = wave(3 * cols, 7, 0.8);
    const y = await run(file, { x: { type: 'float32', data: x, shape: [3, cols] } });
    const xq = qd8(x, 3, cols);
    let plainError = 0;
    let emulationError = 0;
    for (let t = 0; t < 3; t++) {
      for (let r = 0; r < rows; r++) {
        let exact = 0;
        let emulated = 0;
        for (let c = 0; c < cols; c++) {
          exact += x[t * cols + c]! * dequantized[r * cols + c]!;
          emulated += xq[t * cols + c]! * dequantized[r * cols + c]!;
        }
        plainError = Math.max(plainError, Math.abs(y[t * rows + r]! - exact));
        emulationError = Math.max(emulationError, Math.abs(y[t * rows + r]! - emulated));
      }
    }
    // Float activations would differ by the activation quantization (~1e-2 here); the emulation matches to float32 rounding.
    expect(emulationError).toBeLessThan(1e-5);
    expect(plainError).toBeGreaterThan(1e-4);
  }, 60_000);
});
