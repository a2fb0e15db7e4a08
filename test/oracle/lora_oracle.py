"""Reference oracle for the native LoRA merge (test/merge-oracle.test.ts).

Generates tiny random base models and PEFT LoRA adapters (several
architectures' key names, BF16/F16/F32, rsLoRA, rank/alpha patterns,
fan_in_fan_out, modules_to_save, bias="all", lora_bias, embedding LoRA,
sharded input), then recomputes the merge the way PEFT does it on CPU
(peft/tuners/lora/layer.py: Linear.get_delta_weight / merge,
Embedding.get_delta_weight) with PyTorch and compares it with the native
output bit by bit.

The PEFT rules mirrored here are copied from peft (main, 2026):
get_pattern_key (utils/other.py), check_target_module_exists
(tuners/tuners_utils.py), LoraLayer.update_layer scaling (tuners/lora/layer.py).

Usage:
  python3 lora_oracle.py generate ROOT      writes ROOT/<case>/{base,adapter}
  python3 lora_oracle.py compare ROOT       compares ROOT/<case>/merged, prints JSON
Needs numpy and torch (Debian python3-numpy, python3-torch).
"""
import json
import math
import os
import re
import struct
import sys

import torch

torch.set_num_threads(1)

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
NAMES = {v: k for k, v in DTYPES.items()}
BITS_VIEW = {"F32": torch.int32, "F16": torch.int16, "BF16": torch.int16}


# ---- safetensors, minimal and independent of the TypeScript implementation ----

def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name, t in tensors.items():
        dtype = NAMES[t.dtype]
        raw = t.contiguous().view(BITS_VIEW[dtype]).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[8 + n + begin:8 + n + end])
        dtype = info["dtype"]
        t = torch.frombuffer(raw, dtype=BITS_VIEW[dtype]) if raw else torch.empty(0, dtype=BITS_VIEW[dtype])
        out[name] = t.view(DTYPES[dtype]).reshape(info["shape"])
    return out, header.get("__metadata__")


def load_model_dir(d):
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(weight_map.values())):
            tensors, _ = load_safetensors(os.path.join(d, shard))
            out.update(tensors)
        return out
    return load_safetensors(os.path.join(d, "model.safetensors"))[0]


# ---- PEFT rules ----

def get_pattern_key(pattern_keys, key_to_match):
    for key in pattern_keys:
        if re.match(rf"(.*\.)?({key})$", key_to_match):
            return key
    return key_to_match


def check_target_module_exists(config, key):
    exclude = config.get("exclude_modules")
    if exclude:
        if isinstance(exclude, str):
            if re.fullmatch(exclude, key):
                return False
        elif key in exclude or any(key.endswith(f".{e}") for e in exclude):
            return False
    for m in config.get("modules_to_save") or []:
        if re.match(rf"(^|.*\.){m}($|\..*)", key):
            return False
    targets = config.get("target_modules")
    if isinstance(targets, str):
        return re.fullmatch(targets, key) is not None
    if key in targets:
        return True
    found = any(key.endswith(f".{t}") for t in targets)
    layers = config.get("layers_to_transform")
    if layers is not None and found:
        layers = [layers] if isinstance(layers, int) else layers
        m = re.match(r".*?\.[^.]*\.(\d+)\.", key)
        return m is not None and int(m.group(1)) in layers
    return found


def rank_alpha(config, module):
    r_key = get_pattern_key(list(config.get("rank_pattern", {}).keys()), module)
    a_key = get_pattern_key(list(config.get("alpha_pattern", {}).keys()), module)
    r = config.get("rank_pattern", {}).get(r_key, config["r"])
    alpha = config.get("alpha_pattern", {}).get(a_key, config["lora_alpha"])
    scaling = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    return r, alpha, scaling


# ---- model shapes ----

def qwen2(layers, hidden=32, kv=16, inter=48, vocab=64):
    t = {"model.embed_tokens.weight": (vocab, hidden)}
    for l in range(layers):
        p = f"model.layers.{l}."
        t[p + "self_attn.q_proj.weight"] = (hidden, hidden)
        t[p + "self_attn.q_proj.bias"] = (hidden,)
        t[p + "self_attn.k_proj.weight"] = (kv, hidden)
        t[p + "self_attn.k_proj.bias"] = (kv,)
        t[p + "self_attn.v_proj.weight"] = (kv, hidden)
        t[p + "self_attn.v_proj.bias"] = (kv,)
        t[p + "self_attn.o_proj.weight"] = (hidden, hidden)
        t[p + "mlp.gate_proj.weight"] = (inter, hidden)
        t[p + "mlp.up_proj.weight"] = (inter, hidden)
        t[p + "mlp.down_proj.weight"] = (hidden, inter)
        t[p + "input_layernorm.weight"] = (hidden,)
        t[p + "post_attention_layernorm.weight"] = (hidden,)
    t["model.norm.weight"] = (hidden,)
    t["lm_head.weight"] = (vocab, hidden)
    return t


def llama(layers):
    return {k: v for k, v in qwen2(layers, hidden=40, kv=20, inter=60, vocab=72).items() if not k.endswith("proj.bias")}


def phi3(layers, hidden=32, inter=44, vocab=60):
    t = {"model.embed_tokens.weight": (vocab, hidden)}
    for l in range(layers):
        p = f"model.layers.{l}."
        t[p + "self_attn.qkv_proj.weight"] = (3 * hidden, hidden)
        t[p + "self_attn.qkv_proj.bias"] = (3 * hidden,)
        t[p + "self_attn.o_proj.weight"] = (hidden, hidden)
        t[p + "mlp.gate_up_proj.weight"] = (2 * inter, hidden)
        t[p + "mlp.down_proj.weight"] = (hidden, inter)
        t[p + "input_layernorm.weight"] = (hidden,)
    t["model.norm.weight"] = (hidden,)
    t["lm_head.weight"] = (vocab, hidden)
    return t


def gpt2(layers, hidden=24, vocab=50):
    # transformers Conv1D stores (in, out): PEFT needs fan_in_fan_out=True.
    t = {"transformer.wte.weight": (vocab, hidden), "transformer.wpe.weight": (16, hidden)}
    for l in range(layers):
        p = f"transformer.h.{l}."
        t[p + "attn.c_attn.weight"] = (hidden, 3 * hidden)
        t[p + "attn.c_attn.bias"] = (3 * hidden,)
        t[p + "attn.c_proj.weight"] = (hidden, hidden)
        t[p + "attn.c_proj.bias"] = (hidden,)
        t[p + "mlp.c_fc.weight"] = (hidden, 4 * hidden)
        t[p + "mlp.c_fc.bias"] = (4 * hidden,)
        t[p + "mlp.c_proj.weight"] = (4 * hidden, hidden)
        t[p + "mlp.c_proj.bias"] = (hidden,)
        t[p + "ln_1.weight"] = (hidden,)
    t["transformer.ln_f.weight"] = (hidden,)
    return t


CASES = {
    "qwen2-bf16-patterns": dict(
        shapes=qwen2(3), dtype="BF16", adapter_dtype="F32",
        config=dict(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "embed_tokens"],
                    rank_pattern={"q_proj": 4, "model.layers.2.mlp.up_proj": 2}, alpha_pattern={"down_proj": 32, "layers.1.self_attn.k_proj": 5})),
    "llama-f16-rslora-regex": dict(
        shapes=llama(2), dtype="F16", adapter_dtype="BF16",
        config=dict(r=16, lora_alpha=8, use_rslora=True, target_modules=r".*\.(q_proj|v_proj|down_proj)", modules_to_save=["lm_head"])),
    "phi3-f32-sharded-modules-to-save": dict(
        shapes=phi3(2, hidden=256, inter=352, vocab=300), dtype="F32", adapter_dtype="F32", shard_bytes=1500000,
        config=dict(r=4, lora_alpha=12, target_modules=["qkv_proj", "o_proj", "gate_up_proj", "down_proj"], modules_to_save=["lm_head"], lora_bias=True)),
    "gpt2-bf16-fan-in-fan-out-embedding-bias": dict(
        shapes=gpt2(2), dtype="BF16", adapter_dtype="F32",
        config=dict(r=6, lora_alpha=9, fan_in_fan_out=True, target_modules=["c_attn", "c_proj", "c_fc"], bias="all", layers_to_transform=[1])),
}


def lora_modules(shapes, config):
    out = []
    for name, shape in shapes.items():
        if not name.endswith(".weight") or len(shape) != 2:
            continue
        module = name[: -len(".weight")]
        if check_target_module_exists(config, module):
            out.append((module, shape))
    return out


def generate(root):
    for seed, (case, spec) in enumerate(CASES.items()):
        g = torch.Generator().manual_seed(1000 + seed)
        dtype = DTYPES[spec["dtype"]]
        adapter_dtype = DTYPES[spec["adapter_dtype"]]
        case_dir = os.path.join(root, case)
        base_dir = os.path.join(case_dir, "base")
        adapter_dir = os.path.join(case_dir, "adapter")
        config = {"peft_type": "LORA", "base_model_name_or_path": os.path.abspath(base_dir), "bias": "none"}
        config.update(spec["config"])
        base = {name: (torch.randn(shape, generator=g) * 0.5).to(dtype) for name, shape in spec["shapes"].items()}
        adapter = {}
        for module, shape in lora_modules(spec["shapes"], config):
            r, _, _ = rank_alpha(config, module)
            embedding = module.endswith("wte") or module.endswith("embed_tokens")
            if embedding:
                num, dim = shape
                adapter[f"base_model.model.{module}.lora_embedding_A"] = (torch.randn((r, num), generator=g) * 0.3).to(adapter_dtype)
                adapter[f"base_model.model.{module}.lora_embedding_B"] = (torch.randn((dim, r), generator=g) * 0.3).to(adapter_dtype)
                continue
            out_f, in_f = (shape[1], shape[0]) if config.get("fan_in_fan_out") else shape
            adapter[f"base_model.model.{module}.lora_A.weight"] = (torch.randn((r, in_f), generator=g) * 0.3).to(adapter_dtype)
            adapter[f"base_model.model.{module}.lora_B.weight"] = (torch.randn((out_f, r), generator=g) * 0.3).to(adapter_dtype)
            if config.get("lora_bias") and f"{module}.bias" in spec["shapes"]:
                adapter[f"base_model.model.{module}.lora_B.bias"] = (torch.randn((out_f,), generator=g) * 0.3).to(adapter_dtype)
        for m in config.get("modules_to_save") or []:
            for name, shape in spec["shapes"].items():
                if name.startswith(f"{m}.") or f".{m}." in name:
                    adapter[f"base_model.model.{name}"] = torch.randn(shape, generator=g).to(torch.float32)
        if config.get("bias") == "all":
            for name, shape in spec["shapes"].items():
                if name.endswith(".bias"):
                    adapter[f"base_model.model.{name}"] = (base[name].float() + torch.randn(shape, generator=g) * 0.1).to(dtype)
        os.makedirs(base_dir, exist_ok=True)
        os.makedirs(adapter_dir, exist_ok=True)
        shard_bytes = spec.get("shard_bytes")
        if shard_bytes:
            shards, current, size = [], {}, 0
            for name, t in base.items():
                nbytes = t.numel() * t.element_size()
                if current and size + nbytes > shard_bytes:
                    shards.append(current)
                    current, size = {}, 0
                current[name] = t
                size += nbytes
            shards.append(current)
            weight_map = {}
            for i, shard in enumerate(shards):
                fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
                save_safetensors(os.path.join(base_dir, fname), shard, {"format": "pt"})
                weight_map.update({n: fname for n in shard})
            with open(os.path.join(base_dir, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": sum(t.numel() * t.element_size() for t in base.values())}, "weight_map": weight_map}, f)
        else:
            save_safetensors(os.path.join(base_dir, "model.safetensors"), base, {"format": "pt"})
        save_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), adapter)
        with open(os.path.join(adapter_dir, "adapter_config.json"), "w") as f:
            json.dump(config, f, indent=2)
        with open(os.path.join(base_dir, "config.json"), "w") as f:
            json.dump({"architectures": [case], "torch_dtype": str(dtype).replace("torch.", "")}, f)
    print(json.dumps({"cases": list(CASES)}))


def peft_merge(base, adapter, config):
    """What merge_and_unload() leaves in the weights (CPU, adapter weights autocast to float32)."""
    merged = {k: v.clone() for k, v in base.items()}
    prefix = "base_model.model."
    loras = {}
    for key, t in adapter.items():
        k = key[len(prefix):]
        m = re.match(r"^(.+)\.(lora_A\.weight|lora_B\.weight|lora_B\.bias|lora_embedding_A|lora_embedding_B)$", k)
        if m:
            loras.setdefault(m.group(1), {})[m.group(2)] = t.float()  # autocast_adapter_dtype
        else:
            merged[k].copy_(t)  # modules_to_save / trained biases load into the base-dtype parameter
    for module, parts in loras.items():
        _, _, scaling = rank_alpha(config, module)
        w = merged[f"{module}.weight"]
        if "lora_embedding_A" in parts:
            delta = (parts["lora_embedding_B"] @ parts["lora_embedding_A"]).T * scaling
        else:
            delta = parts["lora_B.weight"] @ parts["lora_A.weight"]
            if config.get("fan_in_fan_out"):
                delta = delta.T
            delta = delta * scaling
        w += delta  # base_layer.weight.data += delta_weight: float32 arithmetic, one rounding to w's dtype
        if "lora_B.bias" in parts:
            merged[f"{module}.bias"] += parts["lora_B.bias"] * scaling
    return merged


def delta_magnitudes(adapter, config):
    """|scale| * (|B| @ |A|) per updated weight, in the stored orientation."""
    out = {}
    prefix = "base_model.model."
    for key, a in adapter.items():
        for suffix, b_suffix, transposed in ((".lora_A.weight", ".lora_B.weight", bool(config.get("fan_in_fan_out"))), (".lora_embedding_A", ".lora_embedding_B", True)):
            if key.endswith(suffix):
                module = key[len(prefix):-len(suffix)]
                b = adapter[key[:-len(suffix)] + b_suffix].float()
                m = (b.abs() @ a.float().abs()) * abs(rank_alpha(config, module)[2])
                out[f"{module}.weight"] = m.T if transposed else m
    return out


def ulp_distance(a, b, dtype):
    """Distance in representable steps between same-dtype tensors (sign-magnitude → ordered ints)."""
    bits = BITS_VIEW[dtype]
    ia = a.contiguous().view(bits).to(torch.int64)
    ib = b.contiguous().view(bits).to(torch.int64)
    width = 32 if dtype == "F32" else 16
    sign = 1 << (width - 1)
    mask = sign - 1

    def ordered(i):
        i = i & ((1 << width) - 1)
        return torch.where(i & sign != 0, -(i & mask), i & mask)

    return (ordered(ia) - ordered(ib)).abs()


def compare(root):
    report = {}
    for case, spec in CASES.items():
        case_dir = os.path.join(root, case)
        config = json.load(open(os.path.join(case_dir, "adapter", "adapter_config.json")))
        base = load_model_dir(os.path.join(case_dir, "base"))
        adapter, _ = load_safetensors(os.path.join(case_dir, "adapter", "adapter_model.safetensors"))
        expected = peft_merge(base, adapter, config)
        magnitudes = delta_magnitudes(adapter, config)
        got = load_model_dir(os.path.join(case_dir, "merged"))
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        tensors = {}
        for name, e in expected.items():
            if name not in got:
                continue
            g = got[name]
            if g.dtype != e.dtype or list(g.shape) != list(e.shape):
                tensors[name] = {"mismatch": f"{NAMES.get(g.dtype)}{list(g.shape)} vs {NAMES[e.dtype]}{list(e.shape)}"}
                continue
            d = ulp_distance(g, e, NAMES[e.dtype])
            changed = bool((e.view(BITS_VIEW[NAMES[e.dtype]]) != base[name].view(BITS_VIEW[NAMES[e.dtype]])).any())
            # Error relative to the size of what was summed: float32 results computed in a different
            # summation order may differ by many ulps where W + delta cancels to almost nothing.
            magnitude = base[name].float().abs() + magnitudes.get(name, torch.zeros(()))
            rel = ((g.float() - e.float()).abs() / magnitude.clamp_min(1e-30)).max().item() if d.numel() else 0.0
            tensors[name] = {"maxUlp": int(d.max()) if d.numel() else 0, "maxRelErr": rel, "differing": int((d != 0).sum()), "count": d.numel(), "changed": changed}
        modules = sorted({k[len("base_model.model."):].rsplit(".lora_", 1)[0] for k in adapter if ".lora_" in k})
        scales = {m: rank_alpha(config, m)[2] for m in modules}
        report[case] = {"missing": missing, "extra": extra, "tensors": tensors, "scales": scales}
    print(json.dumps(report))


if __name__ == "__main__":
    command, root = sys.argv[1], sys.argv[2]
    if command == "generate":
        generate(root)
    elif command == "compare":
        compare(root)
    else:
        sys.exit(f"unknown command {command}")
