import { describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../common/errors.js';
import { getPatternKey, isTargetModule, loraScaling, parseAdapterConfig, rankAndAlpha } from './adapterConfig.js';

const config = (extra: Record<string, unknown>) => parseAdapterConfig({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], ...extra });

function refusal(extra: Record<string, unknown>): WorkbenchError {
  try {
    config(extra);
  } catch (error) {
    return error as WorkbenchError;
  }
  throw new Error('expected a refusal');
}

describe('parseAdapterConfig', () => {
  it('applies LoraConfig defaults', () => {
    const c = parseAdapterConfig({ target_modules: ['q_proj'] });
    expect(c).toMatchObject({ r: 8, loraAlpha: 8, useRslora: false, fanInFanOut: false, bias: 'none', modulesToSave: [], rankPattern: {}, alphaPattern: {} });
  });

  it('refuses what the native merge does not implement, by name', () => {
    expect(refusal({ use_dora: true }).code).toBe('adapter_unsupported');
    expect(refusal({ use_dora: true }).message).toContain('DoRA');
    expect(refusal({ layer_replication: [[0, 4]] }).code).toBe('adapter_unsupported');
    expect(refusal({ peft_type: 'IA3' }).message).toContain('IA3');
    // Empty or false values of those fields are fine.
    expect(() => config({ use_dora: false, layer_replication: null, trainable_token_indices: [] })).not.toThrow();
  });

  it('rejects malformed fields with adapter_config_invalid', () => {
    expect(refusal({ r: 0 }).code).toBe('adapter_config_invalid');
    expect(refusal({ r: 2.5 }).code).toBe('adapter_config_invalid');
    expect(refusal({ bias: 'some' }).code).toBe('adapter_config_invalid');
    expect(refusal({ rank_pattern: { q_proj: -1 } }).code).toBe('adapter_config_invalid');
    expect(refusal({ target_modules: '(' }).code).toBe('adapter_config_invalid');
  });
});

describe('PEFT pattern semantics', () => {
  it('get_pattern_key: the first key matching the end of the module name at a dot boundary', () => {
    expect(getPatternKey(['q_proj', 'proj'], 'model.layers.0.self_attn.q_proj')).toBe('q_proj');
    expect(getPatternKey(['proj'], 'model.layers.0.self_attn.q_proj')).toBe('model.layers.0.self_attn.q_proj'); // not at a dot
    expect(getPatternKey(['layers.1.self_attn.q_proj'], 'model.layers.1.self_attn.q_proj')).toBe('layers.1.self_attn.q_proj');
    expect(getPatternKey(['layers\\.\\d+\\.mlp\\.down_proj'], 'model.layers.7.mlp.down_proj')).toBe('layers\\.\\d+\\.mlp\\.down_proj');
    expect(getPatternKey(['q_proj'], 'model.layers.0.self_attn.qq_proj')).toBe('model.layers.0.self_attn.qq_proj');
  });

  it('rank and alpha patterns give per-module r, alpha and scale; rsLoRA divides by √r', () => {
    const c = config({ rank_pattern: { q_proj: 4 }, alpha_pattern: { 'layers.1.self_attn.v_proj': 64 } });
    expect(rankAndAlpha(c, 'model.layers.0.self_attn.q_proj')).toEqual({ r: 4, alpha: 16 });
    expect(rankAndAlpha(c, 'model.layers.1.self_attn.v_proj')).toEqual({ r: 8, alpha: 64 });
    expect(rankAndAlpha(c, 'model.layers.0.self_attn.v_proj')).toEqual({ r: 8, alpha: 16 });
    expect(loraScaling(c, 4, 16)).toBe(4);
    expect(loraScaling(config({ use_rslora: true }), 16, 8)).toBe(2);
  });

  it('target_modules: list by name or ".name" suffix, regex by full match, exclusions and layers', () => {
    const list = config({});
    expect(isTargetModule(list, 'model.layers.0.self_attn.q_proj')).toBe(true);
    expect(isTargetModule(list, 'q_proj')).toBe(true);
    expect(isTargetModule(list, 'model.layers.0.self_attn.qq_proj')).toBe(false);
    const regex = config({ target_modules: '.*\\.(q_proj|v_proj)' });
    expect(isTargetModule(regex, 'model.layers.3.self_attn.v_proj')).toBe(true);
    expect(isTargetModule(regex, 'model.layers.3.self_attn.v_proj.extra')).toBe(false); // full match only
    const named = config({ target_modules: '.*layers\\.(?P<idx>[01])\\.self_attn\\.q_proj' });
    expect(isTargetModule(named, 'model.layers.1.self_attn.q_proj')).toBe(true);
    expect(isTargetModule(named, 'model.layers.2.self_attn.q_proj')).toBe(false);
    const excluded = config({ exclude_modules: ['layers.0.self_attn.q_proj'] });
    expect(isTargetModule(excluded, 'model.layers.0.self_attn.q_proj')).toBe(false);
    expect(isTargetModule(excluded, 'model.layers.1.self_attn.q_proj')).toBe(true);
    const layers = config({ layers_to_transform: [1] });
    expect(isTargetModule(layers, 'model.layers.1.self_attn.q_proj')).toBe(true);
    expect(isTargetModule(layers, 'model.layers.0.self_attn.q_proj')).toBe(false);
    const saved = config({ target_modules: ['lm_head', 'q_proj'], modules_to_save: ['lm_head'] });
    expect(isTargetModule(saved, 'lm_head')).toBe(false);
  });
});
