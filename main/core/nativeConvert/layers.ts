/**
 * The shared vocabulary of layers the family builders compose (as
 * litert-torch's generative/layers/): RMSNorm, linear layers under each
 * weight encoding, rotary embedding, the SwiGLU MLP, and grouped-query
 * attention over a static KV cache updated with one contiguous
 * DYNAMIC_UPDATE_SLICE at input_pos[0]. Every helper works on one
 * SubgraphBuilder and static shapes (each signature has its own length T).
 */
import type { SubgraphBuilder } from '../tfliteWriter/graph.js';
import type { RegisteredWeight } from './weights.js';

/** How a weight is consumed: float as is, int8 hybrid (dynamic range), or dequantized to float first. */
export type WeightUse = 'float' | 'hybrid' | 'dequantize';

export class Layers {
  private readonly dequantized = new Map<number, number>();
  private seq = 0;

  constructor(
    readonly g: SubgraphBuilder,
    readonly use: WeightUse,
  ) {}

  name(base: string): string {
    return `${base}_${this.seq++}`;
  }

  reshape(x: number, shape: number[], label = 'reshape'): number {
    return this.g.op({ kind: 'RESHAPE', newShape: shape }, [x, this.g.int32(shape)], { name: this.name(label), type: this.g.tensor(x).type, shape });
  }

  transpose(x: number, perm: number[], label = 'transpose'): number {
    const inShape = this.g.tensor(x).shape;
    const shape = perm.map((p) => inShape[p]!);
    return this.g.op({ kind: 'TRANSPOSE' }, [x, this.g.int32(perm)], { name: this.name(label), type: this.g.tensor(x).type, shape });
  }

  binary(kind: 'ADD' | 'MUL', a: number, b: number, label: string): number {
    const sa = this.g.tensor(a).shape;
    const sb = this.g.tensor(b).shape;
    const rank = Math.max(sa.length, sb.length);
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) {
      const da = sa[sa.length - rank + i] ?? 1;
      const db = sb[sb.length - rank + i] ?? 1;
      shape.push(Math.max(da, db));
    }
    return this.g.op({ kind }, [a, b], { name: this.name(label), shape });
  }

  /** A constant weight tensor in this subgraph (the buffer is shared model-wide); int4 with its scale tensor. */
  weightTensor(w: RegisteredWeight): number {
    if (w.blockwise) {
      const scales = this.g.constant(`${w.name}_scales`, 'float16', w.blockwise.scalesShape, w.blockwise.scalesBuffer);
      return this.g.constant(w.name, w.type, w.shape, w.buffer, { kind: 'blockwise', scales, blockSize: w.blockwise.blockSize });
    }
    return this.g.constant(w.name, w.type, w.shape, w.buffer, w.quantization);
  }

  /** A float tensor for a weight: the constant itself, or its DEQUANTIZE (once per subgraph). */
  floatWeight(w: RegisteredWeight): number {
    const t = this.weightTensor(w);
    if (w.type === 'float32') return t;
    const cached = this.dequantized.get(t);
    if (cached !== undefined) return cached;
    const out = this.g.op({ kind: 'DEQUANTIZE' }, [t], { name: `${w.name}_dequantized`, shape: w.shape });
    this.dequantized.set(t, out);
    return out;
  }

  /** x [T, in] → [T, out] with W [out, in] (and an optional float bias). */
  linear(x: number, w: RegisteredWeight, bias: RegisteredWeight | null, label: string): number {
    const rows = this.g.tensor(x).shape[0]!;
    const filter = (w.type === 'int8' || w.type === 'int4') && this.use === 'hybrid' ? this.weightTensor(w) : this.floatWeight(w);
    const inputs = [x, filter, bias ? this.weightTensor(bias) : -1];
    // int4: FC options as the float model had them (ai-edge-quantizer changes none); XNNPACK quantizes inputs per row either way.
    return this.g.op({ kind: 'FULLY_CONNECTED', keepNumDims: false, asymmetricQuantizeInputs: this.use === 'hybrid' && w.type === 'int8' }, inputs, {
      name: this.name(label),
      shape: [rows, w.shape[0]!],
    });
  }

  /** RMSNorm over the last axis: x · rsqrt(mean(x²) + eps) · w. */
  rmsNorm(x: number, w: RegisteredWeight, eps: number, label: string): number {
    const shape = this.g.tensor(x).shape;
    const last = shape.length - 1;
    const squared = this.binary('MUL', x, x, `${label}_sq`);
    const meanShape = [...shape.slice(0, last), 1];
    const mean = this.g.op({ kind: 'MEAN', keepDims: true }, [squared, this.g.int32([last])], { name: this.name(`${label}_mean`), shape: meanShape });
    const shifted = this.binary('ADD', mean, this.g.float32([eps], [1], `rms_eps_${eps}`), `${label}_eps`);
    const inv = this.g.op({ kind: 'RSQRT' }, [shifted], { name: this.name(`${label}_rsqrt`), shape: meanShape });
    const normed = this.binary('MUL', x, inv, `${label}_normed`);
    return this.binary('MUL', normed, this.weightTensor(w), label);
  }

  /** Rotate-half RoPE on x [T, heads, D] with cos/sin [T, 1, D]. */
  rope(x: number, cos: number, sin: number, label: string): number {
    const [t, heads, d] = this.g.tensor(x).shape as [number, number, number];
    const half = d / 2;
    const first = this.g.op({ kind: 'SLICE' }, [x, this.g.int32([0, 0, 0]), this.g.int32([t, heads, half])], { name: this.name(`${label}_x1`), shape: [t, heads, half] });
    const second = this.g.op({ kind: 'SLICE' }, [x, this.g.int32([0, 0, half]), this.g.int32([t, heads, half])], { name: this.name(`${label}_x2`), shape: [t, heads, half] });
    const negSecond = this.g.op({ kind: 'NEG' }, [second], { name: this.name(`${label}_neg`), shape: [t, heads, half] });
    const rotated = this.g.op({ kind: 'CONCATENATION', axis: 2 }, [negSecond, first], { name: this.name(`${label}_rot`), shape: [t, heads, d] });
    return this.binary('ADD', this.binary('MUL', x, cos, `${label}_cos`), this.binary('MUL', rotated, sin, `${label}_sin`), label);
  }

  /** SwiGLU: down(silu(gate(x)) · up(x)), SiLU as x · LOGISTIC(x). */
  mlp(x: number, gate: RegisteredWeight, up: RegisteredWeight, down: RegisteredWeight, biases: [RegisteredWeight | null, RegisteredWeight | null, RegisteredWeight | null], label: string): number {
    const g = this.linear(x, gate, biases[0], `${label}_gate`);
    const sig = this.g.op({ kind: 'LOGISTIC' }, [g], { name: this.name(`${label}_sigmoid`), shape: this.g.tensor(g).shape });
    const act = this.binary('MUL', this.binary('MUL', g, sig, `${label}_silu`), this.linear(x, up, biases[1], `${label}_up`), `${label}_act`);
    return this.linear(act, down, biases[2], `${label}_down`);
  }
}
