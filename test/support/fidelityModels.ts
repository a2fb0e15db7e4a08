/**
 * Realistic inputs for the fidelity tests, written into temp folders: Qwen
 * model folders built from the real Qwen tokenizer fixture (plus a
 * config.json and generation_config.json of our own, and a Qwen2.5-style
 * chat template). The .tflite side comes from syntheticTflite.ts.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES = path.resolve(import.meta.dirname, '../../../shared/fixtures');
export const QWEN_TOKENIZER_DIR = path.join(FIXTURES, 'qwen3-tokenizer');

/** The Qwen2.5-Instruct chat template (ChatML with a default system prompt and tool calls). */
export const QWEN25_TEMPLATE = `{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`;

/** A plain ChatML template without a default system prompt. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface ModelFolderOptions {
  /** 'qwen2.5' (Qwen2.5 template, Qwen2 architecture) or 'qwen3' (the fixture's own Qwen3 template and architecture). */
  flavor?: 'qwen2.5' | 'qwen3';
  /** Replaces the chat template. */
  chatTemplate?: string;
  generationConfig?: Record<string, unknown> | null;
  maxPositionEmbeddings?: number;
}

/** Qwen2.5-Instruct's released generation settings (EOS list, sampling, repetition penalty). */
export const QWEN25_GENERATION_CONFIG = {
  bos_token_id: 151643,
  pad_token_id: 151643,
  do_sample: true,
  eos_token_id: [151645, 151643],
  repetition_penalty: 1.05,
  temperature: 0.7,
  top_p: 0.8,
  top_k: 20,
  transformers_version: '4.37.0',
};

/** Writes a Qwen model folder (no weights: the analyzer never reads them). */
export function writeQwenModelFolder(dir: string, options: ModelFolderOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  const flavor = options.flavor ?? 'qwen2.5';
  copyFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  if (flavor === 'qwen2.5') tokenizerConfig.chat_template = QWEN25_TEMPLATE;
  if (options.chatTemplate !== undefined) tokenizerConfig.chat_template = options.chatTemplate;
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2));
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      architectures: [flavor === 'qwen3' ? 'Qwen3ForCausalLM' : 'Qwen2ForCausalLM'],
      model_type: flavor === 'qwen3' ? 'qwen3' : 'qwen2',
      hidden_size: 1536,
      intermediate_size: 8960,
      num_hidden_layers: 28,
      num_attention_heads: 12,
      num_key_value_heads: 2,
      vocab_size: 151936,
      max_position_embeddings: options.maxPositionEmbeddings ?? 32768,
      bos_token_id: 151643,
      eos_token_id: 151645,
      torch_dtype: 'bfloat16',
      tie_word_embeddings: true,
    }),
  );
  const gen = options.generationConfig === undefined ? QWEN25_GENERATION_CONFIG : options.generationConfig;
  if (gen !== null) writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify(gen, null, 2));
  return dir;
}
