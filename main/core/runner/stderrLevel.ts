/**
 * The log level of a stage's stderr line. Engines that run inside stages
 * (LiteRT.js, LiteRT-LM's wasm build) print the same start-up chatter on
 * every load — "NPU accelerator could not be loaded" (there is no NPU in
 * wasm), accelerator registrations, optional bundle sections they looked for
 * — some of it marked WARNING. Shown as warnings they drown the real ones
 * in run logs and on the CLI's stderr, so known benign lines are debug; every
 * other line keeps the level its words give it (a missing LlmMetadata
 * section, an abort, an out-of-memory stay errors and warnings).
 */
import type { LogLevel } from '../../common/stageProtocol.js';

const ENGINE_CHATTER: readonly RegExp[] = [
  /NPU accelerator could not be loaded and registered/,
  /\bRegisterAccelerator: ptr=/,
  /\b(Statically linked GPU|XNNPACK CPU) accelerator registered\b/,
  /\bCreating LiteRT environment with options\b/,
  /\bCreated TensorFlow Lite XNNPACK delegate for CPU\b/,
  /\bFlatbuffer model initialized directly from incoming litert model\b/,
  // Optional bundle sections and model types LiteRT-LM looks for and skips (never LlmMetadataProto: that one is fatal).
  /litert_lm_loader\.(h|cc):\d+\] Section not found: (ExecutorMetadataProto|SP_Tokenizer|HF_Tokenizer_Zlib)\s*$/,
  /litert_lm_loader\.h:\d+\] TFLite model (type|for type): TF_LITE_\w+ not found\b.*Skipping\./,
  /litert_lm_loader\.h:\d+\] TFLite model type: TF_LITE_\w+ not found for prefer activation type\./,
];

const STDERR_ERROR = /(error|exception)\b|\btraceback\b|\bfatal\b/i;
const STDERR_WARN = /\bwarn(ing)?\b/i;

/** True for a line an engine prints on every load that says nothing about this run. */
export function isEngineChatter(line: string): boolean {
  return ENGINE_CHATTER.some((pattern) => pattern.test(line));
}

export function stderrLevel(line: string): LogLevel {
  if (isEngineChatter(line)) return 'debug';
  return STDERR_ERROR.test(line) ? 'error' : STDERR_WARN.test(line) ? 'warn' : 'info';
}
