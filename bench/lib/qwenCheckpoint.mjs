/**
 * Shared by the benchmarks: a generated Qwen2.5-1.5B-shaped BF16 checkpoint
 * (hidden 1536, intermediate 8960, 12 heads and 2 KV heads of 128, vocab
 * 151936, tied embeddings; `layers` layers, 28 for the full shape), written
 * from a cyclic pool of small random values so generation does not dominate a
 * run, optionally with a rank-r LoRA adapter on every linear layer; and the
 * measuring helpers (/usr/bin/time for wall, CPU and peak RSS).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

export const QWEN15 = { hidden: 1536, inter: 8960, heads: 12, kvHeads: 2, headDim: 128, vocab: 151936 };
/** Qwen2.5-0.5B's shape (24 layers for the full model). */
export const QWEN05 = { hidden: 896, inter: 4864, heads: 14, kvHeads: 2, headDim: 64, vocab: 151936 };

/** BF16 bits of small random values, reused cyclically. */
export function randomBf16Pool(count, scale, seed) {
  const pool = new Uint16Array(count);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    f[0] = ((s / 2 ** 32) * 2 - 1) * scale;
    pool[i] = u[0] >>> 16;
  }
  return pool;
}

export function writeSafetensors(file, tensors, fill) {
  const header = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F32' ? 4 : 2);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    t.bytes = bytes;
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const fd = openSync(file, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, json);
  for (const t of tensors) fill(fd, t);
  closeSync(fd);
  return offset;
}

const LINEAR = (hidden, inter, kv) => [
  ['self_attn.q_proj', hidden, hidden],
  ['self_attn.k_proj', kv, hidden],
  ['self_attn.v_proj', kv, hidden],
  ['self_attn.o_proj', hidden, hidden],
  ['mlp.gate_proj', inter, hidden],
  ['mlp.up_proj', inter, hidden],
  ['mlp.down_proj', hidden, inter],
];

/**
 * Writes the base model into `baseDir` (and, with `adapter: {dir, rank}`, a LoRA
 * adapter). Returns the bytes of BF16 weights written.
 */
export function writeQwen15Checkpoint(baseDir, { layers, adapter = null, shape = QWEN15 }) {
  const { hidden, inter, heads, kvHeads, headDim, vocab } = shape;
  const kv = kvHeads * headDim;
  mkdirSync(baseDir, { recursive: true });
  const base = [{ name: 'model.embed_tokens.weight', shape: [vocab, hidden], dtype: 'BF16' }];
  const lora = [];
  for (let l = 0; l < layers; l++) {
    base.push({ name: `model.layers.${l}.input_layernorm.weight`, shape: [hidden], dtype: 'BF16' });
    for (const [m, out, inp] of LINEAR(hidden, inter, kv)) {
      const module = `model.layers.${l}.${m}`;
      base.push({ name: `${module}.weight`, shape: [out, inp], dtype: 'BF16' });
      if (m === 'self_attn.q_proj' || m === 'self_attn.k_proj' || m === 'self_attn.v_proj') base.push({ name: `${module}.bias`, shape: [out], dtype: 'BF16' });
      if (adapter) {
        lora.push({ name: `base_model.model.${module}.lora_A.weight`, shape: [adapter.rank, inp], dtype: 'F32' });
        lora.push({ name: `base_model.model.${module}.lora_B.weight`, shape: [out, adapter.rank], dtype: 'F32' });
      }
    }
    base.push({ name: `model.layers.${l}.post_attention_layernorm.weight`, shape: [hidden], dtype: 'BF16' });
  }
  base.push({ name: 'model.norm.weight', shape: [hidden], dtype: 'BF16' });
  const poolBytes = new Uint8Array(randomBf16Pool(8 << 20, 0.05, 1).buffer);
  let cursor = 0;
  const baseBytes = writeSafetensors(path.join(baseDir, 'model.safetensors'), base, (fd, t) => {
    let left = t.bytes;
    while (left > 0) {
      const n = Math.min(left, poolBytes.length - cursor);
      writeSync(fd, poolBytes, cursor, n);
      cursor = (cursor + n) % poolBytes.length;
      left -= n;
    }
  });
  writeFileSync(
    path.join(baseDir, 'config.json'),
    JSON.stringify({
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      hidden_size: hidden,
      intermediate_size: inter,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      vocab_size: vocab,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      torch_dtype: 'bfloat16',
      tie_word_embeddings: true,
    }),
  );
  if (adapter) {
    mkdirSync(adapter.dir, { recursive: true });
    writeSafetensors(path.join(adapter.dir, 'adapter_model.safetensors'), lora, (fd, t) => {
      const values = new Float32Array(t.bytes / 4);
      let s = t.bytes;
      for (let i = 0; i < values.length; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        values[i] = ((s / 2 ** 32) * 2 - 1) * 0.02;
      }
      writeSync(fd, new Uint8Array(values.buffer));
    });
    writeFileSync(
      path.join(adapter.dir, 'adapter_config.json'),
      JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: baseDir, r: adapter.rank, lora_alpha: 32, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }),
    );
  }
  return baseBytes;
}

/** Runs `run` n times (cleaning up after each) and keeps the fastest measurement. */
export function fastestOf(n, run, cleanup) {
  let best = null;
  for (let i = 0; i < n; i++) {
    const m = run();
    cleanup();
    if (!best || m.seconds < best.seconds) best = m;
  }
  return best;
}

/**
 * Runs a command under /usr/bin/time; returns wall seconds, peak RSS bytes, CPU seconds and stdout.
 * Dirty pages left by the previous step are flushed first (untimed), so no route pays for another's writeback.
 */
export function measure(label, command, args, env = process.env) {
  execFileSync('sync');
  const result = spawnSync('/usr/bin/time', ['-f', 'BENCH_TIME %e %M %U %S', command, ...args], { encoding: 'utf8', env, maxBuffer: 256 << 20 });
  const line = result.stderr.split('\n').find((l) => l.startsWith('BENCH_TIME'));
  if (result.status !== 0 || !line) throw new Error(`${label} failed (${result.status}): ${result.stderr.slice(-2000)}${result.stdout.slice(-2000)}`);
  const [, seconds, kib, user, system] = line.split(' ');
  return { seconds: Number(seconds), rss: Number(kib) * 1024, cpu: Number(user) + Number(system), stdout: result.stdout };
}

export const gib = (b) => `${(b / 2 ** 30).toFixed(2)} GiB`;
export const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
