/**
 * The decoder families the native converter builds, registered by the
 * Hugging Face `architectures` name (as llama.cpp's convert_hf_to_gguf.py
 * does). All three share the Llama layout and tensor names; each entry says
 * only what differs: q/k/v bias (Qwen2), per-head q/k RMSNorm (Qwen3), and
 * whether the lm_head is tied by default. Rope scaling (llama3) comes from the
 * config, not the family.
 */
export interface DecoderFamily {
  /** Short name used in file descriptions and docs. */
  name: string;
  architectures: readonly string[];
  /** q/k/v projections always carry a bias (Qwen2); otherwise config.json `attention_bias` decides. */
  attentionBias: boolean;
  /** Per-head RMSNorm on q and k before RoPE (`q_norm`, `k_norm`). */
  qkNorm: boolean;
  /** o_proj carries a bias when attention_bias is set (Llama, Qwen3); Qwen2's never does. */
  outputBiasFollowsAttentionBias: boolean;
  /** `tie_word_embeddings` when config.json does not say. */
  tiedByDefault: boolean;
}

const QWEN2: DecoderFamily = { name: 'qwen2', architectures: ['Qwen2ForCausalLM'], attentionBias: true, qkNorm: false, outputBiasFollowsAttentionBias: false, tiedByDefault: false };
const QWEN3: DecoderFamily = { name: 'qwen3', architectures: ['Qwen3ForCausalLM'], attentionBias: false, qkNorm: true, outputBiasFollowsAttentionBias: true, tiedByDefault: false };
const LLAMA: DecoderFamily = { name: 'llama', architectures: ['LlamaForCausalLM'], attentionBias: false, qkNorm: false, outputBiasFollowsAttentionBias: true, tiedByDefault: false };

const FAMILIES = [QWEN2, QWEN3, LLAMA];

export const SUPPORTED_ARCHITECTURES: readonly string[] = FAMILIES.flatMap((f) => f.architectures);

export function familyFor(architecture: string): DecoderFamily | undefined {
  return FAMILIES.find((f) => f.architectures.includes(architecture));
}

/** Hugging Face tensor names of the shared Llama layout. */
export const tensorNames = {
  embed: 'model.embed_tokens.weight',
  finalNorm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  layer: (i: number) => ({
    inputNorm: `model.layers.${i}.input_layernorm.weight`,
    postNorm: `model.layers.${i}.post_attention_layernorm.weight`,
    q: `model.layers.${i}.self_attn.q_proj`,
    k: `model.layers.${i}.self_attn.k_proj`,
    v: `model.layers.${i}.self_attn.v_proj`,
    o: `model.layers.${i}.self_attn.o_proj`,
    qNorm: `model.layers.${i}.self_attn.q_norm.weight`,
    kNorm: `model.layers.${i}.self_attn.k_norm.weight`,
    gate: `model.layers.${i}.mlp.gate_proj`,
    up: `model.layers.${i}.mlp.up_proj`,
    down: `model.layers.${i}.mlp.down_proj`,
  }),
};
