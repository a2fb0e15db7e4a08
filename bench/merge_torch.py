"""Baseline for bench/merge.mjs: the full-load merge as PEFT's merge_and_unload()
does it on CPU, with plain PyTorch (PEFT itself is not installable here).

Loads every base tensor into memory, adds scale * (B @ A) in float32 to each
targeted weight in place (peft/tuners/lora/layer.py: Linear.get_delta_weight,
then base_layer.weight.data += delta), and writes all tensors out as
model.safetensors. Deliberately generous to the baseline: tensors are written
one by one straight from the loaded buffers, without the extra serialized copy
safetensors.torch.save_file makes.

  python3 merge_torch.py BASE_DIR ADAPTER_DIR OUT_DIR
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
BITS = {"F32": torch.int32, "F16": torch.int16, "BF16": torch.int16}
NAMES = {v: k for k, v in DTYPES.items()}


def load(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        view = torch.frombuffer(data, dtype=BITS[info["dtype"]], offset=8 + n + b, count=(e - b) // (4 if info["dtype"] == "F32" else 2))
        tensors[name] = view.view(DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


def save(path, tensors):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, t in tensors.items():
        size = t.numel() * t.element_size()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for t in tensors.values():
            f.write(t.view(BITS[NAMES[t.dtype]]).numpy().data)


def main(base_dir, adapter_dir, out_dir):
    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    scaling = config["lora_alpha"] / (math.sqrt(config["r"]) if config.get("use_rslora") else config["r"])
    base = load(os.path.join(base_dir, "model.safetensors"))
    adapter = load(os.path.join(adapter_dir, "adapter_model.safetensors"))
    prefix = "base_model.model."
    with torch.no_grad():
        for key, a in adapter.items():
            if not key.endswith(".lora_A.weight"):
                continue
            module = key[len(prefix):-len(".lora_A.weight")]
            b = adapter[key.replace(".lora_A.weight", ".lora_B.weight")]
            delta = (b.float() @ a.float()) * scaling
            base[f"{module}.weight"] += delta
    os.makedirs(out_dir, exist_ok=True)
    save(os.path.join(out_dir, "model.safetensors"), base)


if __name__ == "__main__":
    main(*sys.argv[1:4])
