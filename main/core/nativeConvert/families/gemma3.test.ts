import { describe, expect, test } from 'vitest';
import { parseDecoderConfig } from './index.js';

const BASE = {
  architectures: ['Gemma3ForCausalLM'],
  model_type: 'gemma3_text',
  hidden_size: 1152,
  num_hidden_layers: 26,
  num_attention_heads: 4,
  num_key_value_heads: 1,
  head_dim: 256,
  intermediate_size: 6912,
  vocab_size: 262144,
  rope_theta: 1_000_000,
  rope_local_base_freq: 10_000,
  sliding_window: 512,
  sliding_window_pattern: 6,
  query_pre_attn_scalar: 256,
  hidden_activation: 'gelu_pytorch_tanh',
  final_logit_softcapping: null,
  attn_logit_softcapping: null,
};

describe('Gemma 3 config', () => {
  test('1B shape: every 6th layer global with rope_theta, the rest sliding (512) with the local base; tied head', () => {
    const c = parseDecoderConfig(BASE);
    expect(c.family.name).toBe('gemma3');
    expect(c.tieWordEmbeddings).toBe(true);
    const globals = c.attention.flatMap((a, i) => (a.window === null ? [i] : []));
    expect(globals).toEqual([5, 11, 17, 23]);
    expect(c.attention[0]).toEqual({ rope: { key: 'local', theta: 10_000, scaling: null }, window: 512 });
    expect(c.attention[5]!.rope).toEqual({ key: '', theta: 1_000_000, scaling: null });
    expect(c.queryPreAttnScalar).toBe(256);
  });

  test('pattern defaults to 6 without sliding_window_pattern; layer_types wins when given', () => {
    const { sliding_window_pattern: _, ...noPattern } = BASE;
    expect(parseDecoderConfig(noPattern).attention.filter((a) => a.window === null)).toHaveLength(4);
    const types = Array.from({ length: 26 }, (_, i) => (i % 2 ? 'full_attention' : 'sliding_attention'));
    expect(parseDecoderConfig({ ...BASE, layer_types: types }).attention.filter((a) => a.window === null)).toHaveLength(13);
  });

  test('linear rope_scaling applies to global layers only; transformers 5 rope_parameters are read per layer type', () => {
    const c = parseDecoderConfig({ ...BASE, rope_scaling: { rope_type: 'linear', factor: 8 } });
    expect(c.attention[5]!.rope.scaling).toEqual({ type: 'linear', factor: 8 });
    expect(c.attention[0]!.rope.scaling).toBeNull();
    const v5 = parseDecoderConfig({
      ...BASE,
      rope_theta: undefined,
      rope_local_base_freq: undefined,
      rope_parameters: { full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1_000_000 }, sliding_attention: { rope_type: 'default', rope_theta: 10_000 } },
    });
    expect(v5.attention[5]!.rope).toEqual({ key: '', theta: 1_000_000, scaling: { type: 'linear', factor: 8 } });
    expect(v5.attention[0]!.rope).toEqual({ key: 'local', theta: 10_000, scaling: null });
  });

  test.each([
    [{ final_logit_softcapping: 30 }, /config\.json final_logit_softcapping is 30 \(logit softcapping\): the native converter does not build this; use the export_hf route/],
    [{ attn_logit_softcapping: 50 }, /config\.json attn_logit_softcapping is 50 \(logit softcapping\)/],
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /config\.json rope_scaling has type "yarn" \(only linear scaling is built natively\)/],
    [{ hidden_activation: 'gelu' }, /config\.json hidden_activation is "gelu"/],
    [{ use_bidirectional_attention: true }, /config\.json use_bidirectional_attention is true/],
    [{ layer_types: ['sliding_attention'] }, /layer_types must list "sliding_attention" or "full_attention" for each of the 26 layers/],
  ])('refuses %j in one sentence', (extra, message) => {
    expect(() => parseDecoderConfig({ ...BASE, ...extra })).toThrow(message);
  });

  test('Gemma3ForConditionalGeneration: the text tower from text_config', () => {
    const { architectures: _, ...text } = BASE;
    const c = parseDecoderConfig({ architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: text, vision_config: {} });
    expect(c.layers).toBe(26);
    expect(c.attention[0]!.window).toBe(512);
    expect(() => parseDecoderConfig({ architectures: ['Gemma3ForConditionalGeneration'] })).toThrow(/has no text_config object/);
  });
});
