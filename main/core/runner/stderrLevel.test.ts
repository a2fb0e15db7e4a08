import { describe, expect, it } from 'vitest';
import { stderrLevel } from './stderrLevel.js';

// Lines as LiteRT-LM 0.17.1 and LiteRT.js print them on every load (captured from a real bundle).
const CHATTER = [
  'WARNING: [npu_registry.cc:34] NPU accelerator could not be loaded and registered: kLiteRtStatusErrorInvalidArgument.',
  'INFO: [accelerator_registry.cc:54] RegisterAccelerator: ptr=0x254c70, name=GPU WebGPU',
  'INFO: [gpu_registry.cc:109] Statically linked GPU accelerator registered.',
  'INFO: [cpu_registry.cc:75] XNNPACK CPU accelerator registered.',
  'INFO: [environment.cc:36] Creating LiteRT environment with options',
  'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.',
  'W1205 17:00:48.484999 2354880 litert_lm_loader.cc:304] Section not found: ExecutorMetadataProto',
  'W1205 17:00:53.240000 2354880 litert_lm_loader.cc:304] Section not found: SP_Tokenizer',
  'W1205 17:00:47.508999 2354880 litert_lm_loader.h:179] TFLite model type: TF_LITE_VISION_ENCODER not found for backend constraints. Skipping.',
  'W1205 17:00:53.238000 2354880 litert_lm_loader.h:150] TFLite model for type: TF_LITE_END_OF_AUDIO not found. Skipping.',
];

describe('stderrLevel', () => {
  it('demotes the engines\' start-up chatter to debug', () => {
    for (const line of CHATTER) expect(stderrLevel(line), line).toBe('debug');
  });

  it('keeps real warnings and errors', () => {
    expect(stderrLevel('W1205 17:00:48.484999 2354880 litert_lm_loader.cc:304] Section not found: LlmMetadataProto')).toBe('info');
    expect(stderrLevel('Aborted(). Build with -sASSERTIONS for more info.')).toBe('info');
    expect(stderrLevel('RuntimeError: memory access out of bounds')).toBe('error');
    expect(stderrLevel('WARNING: the tokenizer has no chat template')).toBe('warn');
    expect(stderrLevel('UserWarning: TypedStorage is deprecated')).toBe('info');
    expect(stderrLevel('warning: NPU accelerator missing, falling back')).toBe('warn');
    expect(stderrLevel('Traceback (most recent call last):')).toBe('error');
  });
});
