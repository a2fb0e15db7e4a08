"""Shared helpers of the Python unit tests: paths, tiny HF folders, captured emitters."""
import io
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_ENV = os.path.dirname(HERE)
REPO = os.path.dirname(PYTHON_ENV)
FAKE_CONVERTER = os.path.join(REPO, "test", "fixtures", "fake_converter")
FAKE_TORCH = os.path.join(REPO, "test", "fixtures", "fake_torch")
for path in (os.path.join(PYTHON_ENV, "stages"), PYTHON_ENV):
  if path not in sys.path:
    sys.path.insert(0, path)

from protocol import Emitter  # noqa: E402

QWEN_1_5B = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 1536, "num_hidden_layers": 28,
    "intermediate_size": 8960, "num_attention_heads": 12, "num_key_value_heads": 2, "torch_dtype": "bfloat16",
    "vocab_size": 151936,
}


def write_safetensors(path, tensors):
  """Writes a real safetensors file: {name: (dtype, shape)} filled with zeros."""
  sizes = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1}
  header, offset = {}, 0
  for name, (dtype, shape) in tensors.items():
    count = 1
    for dim in shape:
      count *= dim
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + count * sizes[dtype]]}
    offset += count * sizes[dtype]
  blob = json.dumps(header).encode()
  blob += b" " * ((8 - len(blob) % 8) % 8)
  with open(path, "wb") as handle:
    handle.write(struct.pack("<Q", len(blob)) + blob + b"\0" * offset)


def make_model(folder, config=None, tensors=None):
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as handle:
    json.dump(config or QWEN_1_5B, handle)
  write_safetensors(os.path.join(folder, "model.safetensors"), tensors or {"model.embed_tokens.weight": ("BF16", [4, 2])})
  return folder


def captured():
  stream = io.StringIO()
  return Emitter(stream), stream


def events(stream):
  return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
