/**
 * Realistic inputs for the fidelity tests, written into temp folders: Qwen
 * model folders built from the real Qwen tokenizer fixture (plus a
 * config.json and generation_config.json of our own, and a Qwen2.5-style
 * chat template), and a tiny but real .tflite flatbuffer with the signatures
 * and KV-cache inputs an AI Edge Torch LLM export has.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Builder } from 'flatbuffers';

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

// TFLite TensorType values (schema.fbs).
const TENSOR_TYPE = { FLOAT32: 0, INT32: 2, INT8: 9, INT4: 17 } as const;
export type WeightType = keyof typeof TENSOR_TYPE;

export interface TinyLlmOptions {
  kvCacheMaxLen: number;
  prefillLengths?: number[];
  weightType?: WeightType;
  layers?: number;
}

/**
 * A small but schema-valid .tflite shaped like an AI Edge Torch LLM export:
 * prefill_<N> and decode signatures with tokens, input_pos and
 * kv_cache_k_<i>/kv_cache_v_<i> inputs ([1, kv_len, heads, head_dim]),
 * logits outputs, and weight tensors of the chosen type backed by buffers.
 */
export function tinyLlmTflite(options: TinyLlmOptions): Uint8Array {
  const b = new Builder(4096);
  const prefill = options.prefillLengths ?? [128];
  const layers = options.layers ?? 2;
  const weightType = TENSOR_TYPE[options.weightType ?? 'INT8'];

  interface TensorSpec {
    name: string;
    type: number;
    shape: number[];
    buffer: number;
    quantized?: boolean;
  }
  const tensors: TensorSpec[] = [];
  const buffersData: Array<Uint8Array | null> = [null]; // buffer 0 is the empty sentinel
  const addTensor = (spec: Omit<TensorSpec, 'buffer'>, data?: Uint8Array): number => {
    let buffer = 0;
    if (data) {
      buffersData.push(data);
      buffer = buffersData.length - 1;
    }
    tensors.push({ ...spec, buffer });
    return tensors.length - 1;
  };
  // Weights: a float32 layer norm plus the dominant weight matrices.
  const weightBytes = weightType === TENSOR_TYPE.INT4 ? 2048 : weightType === TENSOR_TYPE.FLOAT32 ? 16384 : 4096;
  for (let l = 0; l < layers; l++) {
    addTensor({ name: `layer_${l}/attn/qkv/weight`, type: weightType, shape: [64, 64], quantized: weightType !== TENSOR_TYPE.FLOAT32 }, new Uint8Array(weightBytes).fill(l + 1));
  }
  addTensor({ name: 'final_norm/scale', type: TENSOR_TYPE.FLOAT32, shape: [64] }, new Uint8Array(256).fill(7));

  const kvInputs: Array<[string, number]> = [];
  for (let l = 0; l < layers; l++) {
    for (const kind of ['k', 'v'] as const) {
      const name = `kv_cache_${kind}_${l}`;
      kvInputs.push([name, addTensor({ name, type: TENSOR_TYPE.FLOAT32, shape: [1, options.kvCacheMaxLen, 2, 32] })]);
    }
  }
  const signatures: Array<{ key: string; inputs: Array<[string, number]>; outputs: Array<[string, number]> }> = [];
  for (const n of prefill) {
    const tokens = addTensor({ name: `prefill_${n}_tokens`, type: TENSOR_TYPE.INT32, shape: [1, n] });
    const pos = addTensor({ name: `prefill_${n}_input_pos`, type: TENSOR_TYPE.INT32, shape: [n] });
    signatures.push({ key: `prefill_${n}`, inputs: [['tokens', tokens], ['input_pos', pos], ...kvInputs], outputs: [] });
  }
  const decodeTokens = addTensor({ name: 'decode_tokens', type: TENSOR_TYPE.INT32, shape: [1, 1] });
  const decodePos = addTensor({ name: 'decode_input_pos', type: TENSOR_TYPE.INT32, shape: [1] });
  const logits = addTensor({ name: 'logits', type: TENSOR_TYPE.FLOAT32, shape: [1, 1, 151936] });
  signatures.push({ key: 'decode', inputs: [['tokens', decodeTokens], ['input_pos', decodePos], ...kvInputs], outputs: [['logits', logits]] });

  const vecOfOffsets = (offsets: number[]): number => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
    return b.endVector();
  };
  const vecOfInts = (values: number[]): number => {
    b.startVector(4, values.length, 4);
    for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
    return b.endVector();
  };

  const tensorOffsets = tensors.map((t) => {
    const name = b.createString(t.name);
    const shape = vecOfInts(t.shape);
    let quant = 0;
    if (t.quantized) {
      b.startVector(4, 1, 4);
      b.addFloat32(0.02);
      const scale = b.endVector();
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      quant = b.endObject();
    }
    b.startObject(8);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type, -1);
    b.addFieldInt32(2, t.buffer, -1);
    b.addFieldOffset(3, name, 0);
    if (quant) b.addFieldOffset(4, quant, 0);
    return b.endObject();
  });
  const subgraphName = b.createString('main');
  const tensorsVec = vecOfOffsets(tensorOffsets);
  const inputsVec = vecOfInts([]);
  const outputsVec = vecOfInts([logits]);
  const operatorsVec = vecOfOffsets([]);
  b.startObject(5);
  b.addFieldOffset(0, tensorsVec, 0);
  b.addFieldOffset(1, inputsVec, 0);
  b.addFieldOffset(2, outputsVec, 0);
  b.addFieldOffset(3, operatorsVec, 0);
  b.addFieldOffset(4, subgraphName, 0);
  const subgraph = b.endObject();

  const bufferOffsets = buffersData.map((data) => {
    let dataVec = 0;
    if (data) {
      b.startVector(1, data.length, 16);
      for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]!);
      dataVec = b.endVector();
    }
    b.startObject(3);
    if (dataVec) b.addFieldOffset(0, dataVec, 0);
    return b.endObject();
  });

  const tensorMap = ([name, index]: [string, number]): number => {
    const n = b.createString(name);
    b.startObject(2);
    b.addFieldOffset(0, n, 0);
    b.addFieldInt32(1, index, -1);
    return b.endObject();
  };
  const signatureOffsets = signatures.map((s) => {
    const inputs = vecOfOffsets(s.inputs.map(tensorMap));
    const outputs = vecOfOffsets(s.outputs.map(tensorMap));
    const key = b.createString(s.key);
    b.startObject(5);
    b.addFieldOffset(0, inputs, 0);
    b.addFieldOffset(1, outputs, 0);
    b.addFieldOffset(2, key, 0);
    b.addFieldInt32(4, 0, -1);
    return b.endObject();
  });

  const description = b.createString('tiny test LLM (fidelity fixtures)');
  const subgraphsVec = vecOfOffsets([subgraph]);
  const buffersVec = vecOfOffsets(bufferOffsets);
  const signaturesVec = vecOfOffsets(signatureOffsets);
  const opcodesVec = vecOfOffsets([]);
  b.startObject(8);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, opcodesVec, 0);
  b.addFieldOffset(2, subgraphsVec, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, buffersVec, 0);
  b.addFieldOffset(7, signaturesVec, 0);
  const model = b.endObject();
  b.finish(model, 'TFL3');
  return b.asUint8Array();
}

export function writeTinyLlmTflite(file: string, options: TinyLlmOptions): string {
  writeFileSync(file, tinyLlmTflite(options));
  return file;
}
