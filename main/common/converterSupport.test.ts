/**
 * The builder table and the command line: sizes come from config.json, and
 * quoting is byte-identical to Python's shlex.quote (the stage records its own
 * command; test/convert-stage.test.ts compares the two on real runs).
 */
import { describe, expect, it } from 'vitest';
import { converterCommand, matchExampleBuilder, shellQuote } from './converterSupport.js';
import { ConvertParams } from './stages/convert.js';

const qwen = (hiddenSize: number, numHiddenLayers: number, intermediateSize: number, numAttentionHeads: number) => ({
  architectures: ['Qwen2ForCausalLM'],
  hiddenSize,
  numHiddenLayers,
  intermediateSize,
  numAttentionHeads,
  numKeyValueHeads: 2,
});

describe('matchExampleBuilder', () => {
  it('picks each Qwen2.5 size from its dimensions', () => {
    const pick = (dims: ReturnType<typeof qwen>) => {
      const match = matchExampleBuilder(dims);
      return match.ok ? match.builder.sizeFlag : match.reason;
    };
    expect(pick(qwen(896, 24, 4864, 14))).toBe('0.5b');
    expect(pick(qwen(1536, 28, 8960, 12))).toBe('1.5b');
    expect(pick(qwen(2048, 36, 11008, 16))).toBe('3b');
    expect(pick(qwen(3584, 28, 18944, 28))).toBe('unsupported_model_size');
  });

  it('refuses architectures without a builder', () => {
    const match = matchExampleBuilder({ architectures: ['MistralForCausalLM'], hiddenSize: 4096, numHiddenLayers: 32, intermediateSize: 14336, numAttentionHeads: 32, numKeyValueHeads: 8 });
    expect(match).toMatchObject({ ok: false, reason: 'unsupported_architecture' });
  });
});

describe('shellQuote', () => {
  it('matches shlex.quote', () => {
    expect(shellQuote('/models/qwen-ft')).toBe('/models/qwen-ft');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('/my models/it\'s')).toBe(`'/my models/it'"'"'s'`);
    expect(shellQuote('--prefill_lengths=[8,64]')).toBe("'--prefill_lengths=[8,64]'");
  });
});

describe('converterCommand', () => {
  it('writes the example script flags with the model size', () => {
    const params = ConvertParams.parse({ modelDir: '/m/q', outDir: '/o', prefillSeqLens: [64, 8] });
    const match = matchExampleBuilder(qwen(1536, 28, 8960, 12));
    if (!match.ok) throw new Error('no builder');
    expect(converterCommand(params, match.builder)).toBe(
      'python -m ai_edge_torch.generative.examples.qwen.convert_to_tflite --model_size=1.5b --checkpoint_path=/m/q --output_path=/o --output_name_prefix=qwen_1_5b --prefill_seq_lens=8 --prefill_seq_lens=64 --kv_cache_max_len=4096 --quantize=dynamic_int8 --mask_as_input=false --transpose_kv_cache=false',
    );
  });

  it('writes export_hf flags, quantization "none" as None', () => {
    const params = ConvertParams.parse({ modelDir: '/m', outDir: '/o', route: 'export_hf', quantize: 'none', prefillSeqLens: [256] });
    expect(converterCommand(params, null)).toBe(
      "python -m litert_torch.generative.export_hf --model=/m --output_dir=/o '--prefill_lengths=[256]' --cache_length=4096 --quantization_recipe=None --bundle_litert_lm=True",
    );
  });
});
