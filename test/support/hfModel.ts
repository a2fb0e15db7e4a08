/**
 * Writes Hugging Face model and PEFT adapter folders for tests: real
 * safetensors headers whose data block is a sparse hole (full-size tensor
 * tables, no real bytes on disk), real config and tokenizer files.
 */
import { copyFile, mkdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const SHARED_FIXTURES = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures');

export type Tensors = Record<string, { dtype: 'BF16' | 'F32' | 'F16'; shape: number[] }>;

export async function writeSafetensors(file: string, tensors: Tensors): Promise<void> {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F32' ? 4 : 2);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  await writeFile(file, Buffer.concat([prefix, Buffer.from(json)]));
  await truncate(file, 8 + json.length + offset);
}

/** The tensor table of a Qwen2-style decoder (q/k/v biases, gated MLP, RMS norms). */
export function decoderTensors(h: number, layers: number, inter: number, heads: number, kvHeads: number, vocab: number, tied: boolean): Tensors {
  const headDim = h / heads;
  const t: Tensors = { 'model.embed_tokens.weight': { dtype: 'BF16', shape: [vocab, h] }, 'model.norm.weight': { dtype: 'BF16', shape: [h] } };
  if (!tied) t['lm_head.weight'] = { dtype: 'BF16', shape: [vocab, h] };
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    t[`${p}.self_attn.q_proj.weight`] = { dtype: 'BF16', shape: [heads * headDim, h] };
    t[`${p}.self_attn.q_proj.bias`] = { dtype: 'BF16', shape: [heads * headDim] };
    t[`${p}.self_attn.k_proj.weight`] = { dtype: 'BF16', shape: [kvHeads * headDim, h] };
    t[`${p}.self_attn.k_proj.bias`] = { dtype: 'BF16', shape: [kvHeads * headDim] };
    t[`${p}.self_attn.v_proj.weight`] = { dtype: 'BF16', shape: [kvHeads * headDim, h] };
    t[`${p}.self_attn.v_proj.bias`] = { dtype: 'BF16', shape: [kvHeads * headDim] };
    t[`${p}.self_attn.o_proj.weight`] = { dtype: 'BF16', shape: [h, heads * headDim] };
    t[`${p}.mlp.gate_proj.weight`] = { dtype: 'BF16', shape: [inter, h] };
    t[`${p}.mlp.up_proj.weight`] = { dtype: 'BF16', shape: [inter, h] };
    t[`${p}.mlp.down_proj.weight`] = { dtype: 'BF16', shape: [h, inter] };
    t[`${p}.input_layernorm.weight`] = { dtype: 'BF16', shape: [h] };
    t[`${p}.post_attention_layernorm.weight`] = { dtype: 'BF16', shape: [h] };
  }
  return t;
}

export function qwenConfig(h: number, layers: number, inter: number, heads: number, kvHeads: number, vocab: number, tied: boolean) {
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_size: h,
    num_hidden_layers: layers,
    intermediate_size: inter,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    vocab_size: vocab,
    max_position_embeddings: 32768,
    tie_word_embeddings: tied,
    torch_dtype: 'bfloat16',
  };
}

/** A model folder; `withTokenizer` adds the real Qwen tokenizer fixture and a generation config. */
export async function makeModel(folder: string, config: object | null, tensors: Tensors | null, withTokenizer = false): Promise<string> {
  await mkdir(folder, { recursive: true });
  if (config) await writeFile(path.join(folder, 'config.json'), JSON.stringify(config));
  if (tensors) await writeSafetensors(path.join(folder, 'model.safetensors'), tensors);
  if (withTokenizer) {
    await copyFile(path.join(SHARED_FIXTURES, 'qwen3-tokenizer', 'tokenizer.json'), path.join(folder, 'tokenizer.json'));
    await copyFile(path.join(SHARED_FIXTURES, 'qwen3-tokenizer', 'tokenizer_config.json'), path.join(folder, 'tokenizer_config.json'));
    await writeFile(path.join(folder, 'generation_config.json'), JSON.stringify({ eos_token_id: [151645, 151643], temperature: 0.7, top_p: 0.8 }));
  }
  return folder;
}

/** A PEFT LoRA adapter folder: {module: [out, in]} of the base weights it adapts. */
export async function makeAdapter(folder: string, base: string, r: number, modules: Record<string, [number, number]>, alpha = 32): Promise<string> {
  await mkdir(folder, { recursive: true });
  const targets = [...new Set(Object.keys(modules).map((m) => m.split('.').pop()!))];
  await writeFile(
    path.join(folder, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: base, r, lora_alpha: alpha, target_modules: targets, lora_dropout: 0.05, bias: 'none', task_type: 'CAUSAL_LM' }),
  );
  const tensors: Tensors = {};
  for (const [module, [out, inp]] of Object.entries(modules)) {
    tensors[`base_model.model.${module}.lora_A.weight`] = { dtype: 'F32', shape: [r, inp] };
    tensors[`base_model.model.${module}.lora_B.weight`] = { dtype: 'F32', shape: [out, r] };
  }
  await writeSafetensors(path.join(folder, 'adapter_model.safetensors'), tensors);
  return folder;
}
