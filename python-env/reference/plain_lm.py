"""A plain-PyTorch forward pass of the decoder families the native converter
builds (Qwen2/Qwen2.5, Qwen3, Llama 3), reading a Hugging Face folder
(config.json + safetensors) without transformers or safetensors packages.

Why it exists: it is the independent reference the conversion is checked
against (tests, the behaviour check's reference answers when transformers is
not installed). It follows transformers' modeling code (RMSNorm in float32,
rotate-half RoPE with llama3 frequency scaling, grouped-query attention,
SwiGLU, tied or untied lm_head), computed in float64 by default so its own
rounding does not hide a converter error.

It can also emulate what a quantized .tflite computes, from the float
weights, with its own implementation of the quantizers:
  - fp16: weights rounded to float16;
  - weight_only_int8: symmetric per-row int8 weights (scale = max|row|/127,
    q = round(w / scale) in float32), float activations;
  - dynamic_int8: the same weights, and every linear layer's input quantized
    per row to asymmetric int8 the way XNNPACK's dynamically quantized fully
    connected kernels do (see quantize_activations_asymmetric);
  - dynamic_int4_block32 / dynamic_int4_block128: blockwise int4 weights as
    ai-edge-quantizer makes them (see quantize_blocks_int4), activations as
    dynamic_int8 (XNNPACK runs float × blockwise-int4 fully connected layers
    as per-row int8 activations × int4 weights, qd8 × qb4w).

Command line (JSON on stdout, logits as raw little-endian float32 to a file):
  python3 plain_lm.py --model DIR --prompt 1,2,3 --steps 8 [--emulate MODE]
      [--force 4,5,6] [--logits-out FILE]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys

import torch

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
FAMILIES = {"Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3", "LlamaForCausalLM": "llama"}


def read_safetensors(path: str) -> dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        raw = bytearray(data[begin:end])
        t = torch.frombuffer(raw, dtype=dtype) if len(raw) else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).to(torch.float32)
    return out


def load_weights(model_dir: str) -> dict[str, torch.Tensor]:
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(model_dir, name)))
    return weights


def quantize_rows_int8(w: torch.Tensor) -> torch.Tensor:
    """Symmetric per-row int8 in float32 arithmetic; returns the dequantized weights."""
    w = w.to(torch.float32)
    amax = w.abs().amax(dim=1, keepdim=True)
    scale = torch.where(amax == 0, torch.ones_like(amax), amax / 127.0)
    q = torch.clamp(torch.round(w / scale), -127, 127)
    return q * scale


INT4_BLOCKS = {"dynamic_int4_block32": 32, "dynamic_int4_block128": 128}


def quantize_blocks_int4(w: torch.Tensor, block: int) -> torch.Tensor:
    """Blockwise symmetric int4, ai-edge-quantizer's dynamic_wi4_afp32_blockwise
    (uniform_quantize_tensor.py), in float32: blocks of `block` consecutive
    input columns per row; scale = max(|w|, 1e-9) / 7 rounded to bfloat16 and
    then to float16; q = clip(round_half_even(w / scale), -8, 7). A scale that
    rounds to 0 in float16 becomes 2^-24 (the converter's documented departure:
    XNNPACK refuses zero scales). Returns the dequantized weights."""
    w = w.to(torch.float32)
    rows, cols = w.shape
    if cols % block:
        raise ValueError(f"{cols} columns are not a multiple of the block size {block}")
    blocks = w.reshape(rows, cols // block, block)
    bound = torch.clamp(blocks.abs().amax(dim=-1, keepdim=True), min=1e-9)
    scale = (bound / 7.0).to(torch.bfloat16).to(torch.float16).to(torch.float32)
    scale = torch.where(scale == 0, torch.full_like(scale, 2.0**-24), scale)
    q = torch.clamp(torch.round(blocks / scale), -8, 7)
    return (q * scale).reshape(rows, cols)


def quantize_activations_asymmetric(x: torch.Tensor) -> torch.Tensor:
    """Per-row asymmetric int8 as XNNPACK's dynamically quantized GEMMs do it
    (xnn_f32_qd8_asymmetric_quantization_params, all in float32): the range is
    widened to include 0, q = rint(x * 255/range + zero_point) with the zero
    point taken from the end with the smaller error, and the dequantization
    scale is 1 / (255/range). Returns the dequantized activations."""
    x32 = x.to(torch.float32)
    rmin = torch.clamp(x32.amin(dim=-1, keepdim=True), max=0.0)
    rmax = torch.clamp(x32.amax(dim=-1, keepdim=True), min=0.0)
    same = rmin == rmax
    scale = torch.where(same, torch.ones_like(rmin), torch.tensor(255.0, dtype=torch.float32) / torch.where(same, torch.ones_like(rmin), rmax - rmin))
    rmin_s, rmax_s = rmin * scale, rmax * scale
    use_min = ((-128.0 + rmin_s) + (127.0 + rmax_s)) > 0
    zero_point = torch.where(use_min, -128.0 - rmin_s, 127.0 - rmax_s)
    zero_point = torch.round(torch.clamp(zero_point, -128.0, 127.0))
    q = torch.clamp(torch.round(x32 * scale + zero_point), -128, 127)
    inv_scale = torch.tensor(1.0, dtype=torch.float32) / scale
    return ((q - zero_point) * inv_scale).to(x.dtype)


class PlainLM:
    def __init__(self, model_dir: str, emulate: str = "none", dtype: torch.dtype = torch.float64):
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        arch = (c.get("architectures") or [None])[0]
        if arch not in FAMILIES:
            raise ValueError(f"config.json architectures {arch!r} is not a family this reference implements")
        self.family = FAMILIES[arch]
        self.c = c
        self.emulate = emulate
        self.dtype = dtype
        self.hidden = c["hidden_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.eps = c.get("rms_norm_eps", 1e-6)
        tied = c.get("tie_word_embeddings", False)
        raw = load_weights(model_dir)
        matrices = [n for n, t in raw.items() if t.dim() == 2]
        for name in matrices:
            if emulate in ("dynamic_int8", "weight_only_int8"):
                raw[name] = quantize_rows_int8(raw[name])
            elif emulate in INT4_BLOCKS:
                raw[name] = quantize_blocks_int4(raw[name], INT4_BLOCKS[emulate])
            elif emulate == "fp16":
                raw[name] = raw[name].to(torch.float16).to(torch.float32)
        self.w = {n: t.to(dtype) for n, t in raw.items()}
        self.lm_head = self.w["model.embed_tokens.weight"] if tied else self.w["lm_head.weight"]
        self.inv_freq = self._inv_freq()

    def _inv_freq(self) -> torch.Tensor:
        dim = self.head_dim
        base = self.c.get("rope_theta", 10000.0)
        inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float32) / dim))
        scaling = self.c.get("rope_scaling")
        if scaling and (scaling.get("rope_type") or scaling.get("type")) == "llama3":
            factor = scaling["factor"]
            low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
            old = scaling["original_max_position_embeddings"]
            low_wavelen, high_wavelen = old / low, old / high
            wavelen = 2 * math.pi / inv
            scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
            smooth = (old / wavelen - low) / (high - low)
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
            inv = torch.where(medium, smoothed, scaled)
        return inv

    def _dynamic(self) -> bool:
        return self.emulate == "dynamic_int8" or self.emulate in INT4_BLOCKS

    def _linear(self, x, name, bias=True):
        if self._dynamic():
            x = quantize_activations_asymmetric(x)
        y = x @ self.w[f"{name}.weight"].T
        b = self.w.get(f"{name}.bias")
        return y + b if (bias and b is not None) else y

    def _norm(self, x, weight):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * weight

    def _rope(self, x, positions, inv_freq=None):
        # x: [T, heads, D]; inv_freq: this layer's table (default: the model's one)
        inv = self.inv_freq if inv_freq is None else inv_freq
        freqs = positions.to(torch.float32)[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(self.dtype)[:, None, :], emb.sin().to(self.dtype)[:, None, :]
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    @torch.no_grad()
    def logits(self, ids: list[int], last_only: bool = False) -> torch.Tensor:
        """Logits [T, V] of a causal forward over `ids` (positions 0..T-1); [1, V] of the last with last_only."""
        t = len(ids)
        pos = torch.arange(t)
        x = self.w["model.embed_tokens.weight"][torch.tensor(ids)]
        mask = torch.full((t, t), float("-inf"), dtype=self.dtype).triu(1)
        rep = self.heads // self.kv_heads
        for i in range(self.layers):
            p = f"model.layers.{i}"
            h = self._norm(x, self.w[f"{p}.input_layernorm.weight"])
            q = self._linear(h, f"{p}.self_attn.q_proj").view(t, self.heads, self.head_dim)
            k = self._linear(h, f"{p}.self_attn.k_proj").view(t, self.kv_heads, self.head_dim)
            v = self._linear(h, f"{p}.self_attn.v_proj").view(t, self.kv_heads, self.head_dim)
            if self.family == "qwen3":
                q = self._norm(q, self.w[f"{p}.self_attn.q_norm.weight"])
                k = self._norm(k, self.w[f"{p}.self_attn.k_norm.weight"])
            q, k = self._rope(q, pos), self._rope(k, pos)
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(self.head_dim) + mask
            probs = torch.softmax(scores, dim=-1)
            ctx = torch.einsum("hts,shd->thd", probs, v).reshape(t, self.heads * self.head_dim)
            x = x + self._linear(ctx, f"{p}.self_attn.o_proj")
            h = self._norm(x, self.w[f"{p}.post_attention_layernorm.weight"])
            gate = self._linear(h, f"{p}.mlp.gate_proj")
            up = self._linear(h, f"{p}.mlp.up_proj")
            x = x + self._linear(torch.nn.functional.silu(gate) * up, f"{p}.mlp.down_proj")
        x = self._norm(x, self.w["model.norm.weight"])
        if last_only:
            # Greedy needs the last position only: the vocabulary projection dominates a small model's cost,
            # and every step here is per row (the norm, the activation quantization), so the row is the same.
            x = x[-1:]
        if self._dynamic():
            x = quantize_activations_asymmetric(x)
        return x @ self.lm_head.T

    def greedy(self, prompt: list[int], max_new_tokens: int, stop_ids=(), force: list[int] | None = None):
        """Greedy continuation; with `force`, teacher-forced on those tokens. Returns (tokens, logits per step)."""
        seq = list(prompt)
        out_tokens, out_logits = [], []
        for step in range(max_new_tokens):
            row = self.logits(seq, last_only=True)[-1]
            token = int(torch.argmax(row))
            out_logits.append(row)
            out_tokens.append(token)
            if force is None and token in stop_ids:
                break
            seq.append(force[step] if force is not None and step < len(force) else token)
        return out_tokens, torch.stack(out_logits) if out_logits else torch.empty(0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", required=True, help="comma-separated token ids")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--emulate", default="none", choices=["none", "fp16", "weight_only_int8", "dynamic_int8", *INT4_BLOCKS])
    ap.add_argument("--force", default="", help="comma-separated tokens to feed instead of the greedy ones")
    ap.add_argument("--stop", default="", help="comma-separated stop token ids")
    ap.add_argument("--logits-out", default="")
    args = ap.parse_args(argv)
    parse = lambda s: [int(v) for v in s.split(",") if v.strip()]
    lm = PlainLM(args.model, emulate=args.emulate)
    tokens, logits = lm.greedy(parse(args.prompt), args.steps, stop_ids=parse(args.stop), force=parse(args.force) or None)
    if args.logits_out:
        with open(args.logits_out, "wb") as f:
            f.write(logits.to(torch.float32).contiguous().numpy().tobytes())
    json.dump({"tokens": tokens, "steps": len(tokens), "vocab": int(logits.shape[-1]) if len(tokens) else 0, "family": lm.family}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
